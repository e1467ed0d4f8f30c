//! Outgoing webhooks: which events exist, the JSON each carries, the signature, and the
//! deliverer that POSTs queued deliveries with retries. Deliveries are queued by the
//! code that produces the event, in its own transaction (`storage::webhooks::enqueue`),
//! so an event is never lost or sent for work that was rolled back.
//!
//! Payloads name the dictation by id with its workflow position and times, never patient
//! details: a webhook receiver sits outside the clinical record.

pub mod deliver;
pub mod sign;

use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};

/// The `[webhooks]` configuration section.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i64,
    /// Seconds before the second attempt; doubled for each further one (capped at an hour).
    pub first_backoff_seconds: u64,
    /// Time bound of one POST.
    pub timeout_seconds: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self { max_attempts: 8, first_backoff_seconds: 30, timeout_seconds: 10 }
    }
}

/// A letter or stage reached its warning point.
pub const SLA_WARNING: &str = "sla.warning";
/// A letter or stage missed its target.
pub const SLA_BREACH: &str = "sla.breach";
/// A dictation moved through its workflow (any action or automatic step).
pub const TRANSITION: &str = "dictation.transition";

/// The events a webhook may subscribe to (`*` subscribes to all).
pub const EVENTS: &[&str] = &[SLA_WARNING, SLA_BREACH, TRANSITION, crate::letters::dispatch::LETTER_DISPATCHED];

/// Checks an `events` filter: known names (or `*`), at least one, no duplicates kept.
pub fn parse_events(events: &[String]) -> Result<Vec<String>, String> {
    if events.is_empty() {
        return Err(format!("events must name at least one of {} (or `*`)", EVENTS.join(", ")));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if e != "*" && !EVENTS.contains(&e.as_str()) {
            return Err(format!("unknown event `{e}`; known: {} (or `*`)", EVENTS.join(", ")));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// What an escalation carries.
pub struct SlaEvent<'a> {
    pub timer_id: &'a str,
    pub breach: bool,
    pub dictation_id: &'a str,
    pub priority: &'a str,
    /// The stage whose target it is; `None` for the whole letter.
    pub scope: Option<&'a str>,
    pub current_stage: &'a str,
    pub assignee: Option<&'a str>,
    pub due_at: Millis,
    pub late: bool,
}

/// The JSON body of an `sla.warning` / `sla.breach` delivery.
pub fn sla_payload(e: &SlaEvent<'_>, now: Millis) -> Value {
    json!({
        "event": if e.breach { SLA_BREACH } else { SLA_WARNING },
        "id": e.timer_id,
        "occurred_at": rfc3339(now),
        "dictation": {
            "id": e.dictation_id,
            "priority": e.priority,
            "stage": e.current_stage,
            "assignee": e.assignee,
        },
        "target": { "scope": e.scope.unwrap_or("letter"), "due_at": rfc3339(e.due_at) },
        "late": e.late,
    })
}

/// The JSON body of a `dictation.transition` delivery; `version` is the row version
/// after the transition (with the dictation id, the event's identity).
pub fn transition_payload(
    dictation_id: &str,
    version: i64,
    workflow: &str,
    t: &crate::workflow::Transition,
    now: Millis,
) -> Value {
    let steps: Vec<Value> = t
        .steps
        .iter()
        .map(|s| json!({"action": s.action, "from": s.from, "to": s.to, "automatic": s.automatic}))
        .collect();
    json!({
        "event": TRANSITION,
        "id": format!("{dictation_id}:{version}"),
        "occurred_at": rfc3339(now),
        "dictation": { "id": dictation_id, "version": version, "workflow": workflow },
        "from_stage": t.from_stage,
        "to_stage": t.to_stage,
        "status": t.new_status.as_str(),
        "assignee": t.assignee,
        "steps": steps,
    })
}
