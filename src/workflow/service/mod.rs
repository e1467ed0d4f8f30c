//! The workflow service: definitions stored in the database, routing at upload, user
//! actions and recognition events applied transactionally with optimistic concurrency,
//! auto-assignment and absences, and the timer scheduler. The pure rules live in the
//! parent module; this layer loads state, calls them and stores the outcome.

pub mod absence_edits;
pub mod absences;
pub mod actions;
pub mod assign;
pub mod defs;
pub mod drafts;
pub mod escalation;
pub mod oversight;
pub mod persist;
pub mod picker;
pub mod queue;
pub mod recognition;
pub mod scheduler;
pub mod start;
pub mod state;
pub mod turnaround;
pub mod turnaround_detail;
pub mod working_time;

pub use recognition::{on_recognition_done, on_recognition_failed, on_recognition_started};

use super::TransitionError;

/// Why a workflow operation was refused; the API maps each to a problem code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("dictation not found")]
    NotFound,
    /// Someone else changed the dictation (or draft) first.
    #[error("{0}")]
    VersionConflict(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A request field is wrong: (field, message).
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
