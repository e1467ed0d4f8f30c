//! Identity, access control and the audit trail over HTTP, on both backends.

mod accounts;
mod audit;
mod hardening;
mod login;
mod matrix;
mod oidc;
pub(crate) mod support;
