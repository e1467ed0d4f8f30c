//! Security controls from the code review and the abuse probe, each over HTTP (or the
//! command line) against the real server, on both backends where SQL is involved.

mod access;
mod admin_audit;
mod approvals;
mod audit_anchor;
mod exports;
mod operations;
mod sessions;
mod staging;
mod uploads;
