//! The injected clock: real time in production, a settable clock in tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, the unit every stored time uses.
pub type Millis = i64;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { manual: None }
    }
    /// A clock that only moves when told to.
    pub fn manual(start: Millis) -> Self {
        Self { manual: Some(Arc::new(AtomicI64::new(start))) }
    }
    pub fn now_ms(&self) -> Millis {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => Utc::now().timestamp_millis(),
        }
    }
    pub fn now(&self) -> DateTime<Utc> {
        from_ms(self.now_ms())
    }
    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance_ms(&self, by: Millis) {
        if let Some(t) = &self.manual {
            t.fetch_add(by, Ordering::SeqCst);
        }
    }
}

pub fn from_ms(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339 UTC with millisecond precision, as the API writes times.
pub fn rfc3339(ms: Millis) -> String {
    from_ms(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp_millis())
}
