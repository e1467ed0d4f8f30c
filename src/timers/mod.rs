//! Time arithmetic for turnaround: the working calendar, duration syntax and SLA state.
//! Pure: no YAML, HTTP or database types (calendar files are read by `crate::workflow`).

pub mod calendar;
pub mod duration;
pub mod sla;

pub use calendar::{Calendar, CalendarError};
pub use duration::{DurationError, Unit, WarnAt, WorkDuration};
pub use sla::{SlaState, SlaStateKind, deadlines, evaluate};

#[cfg(test)]
mod tests;
