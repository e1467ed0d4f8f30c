//! Security hardening: each control driven over HTTP (or the CLI) on both databases.

mod admin_audit;
mod approvals;
mod audit_anchor;
mod staging;
