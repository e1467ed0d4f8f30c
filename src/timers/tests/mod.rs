//! Tests of the calendar and SLA arithmetic.
mod calendar_tests;
mod sla_tests;
