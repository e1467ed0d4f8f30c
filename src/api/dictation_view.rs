//! The JSON shape of a dictation, as the contract defines it, built from a joined row.

use serde_json::{Value, json};
use sqlx::Row;

use crate::clock::rfc3339;
use crate::storage::dictations::DictationView;
use crate::workflow::service::working_time::{Span, working_times};

fn opt_str(row: &sqlx::any::AnyRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col).ok().flatten()
}
fn opt_i64(row: &sqlx::any::AnyRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).ok().flatten()
}
fn opt_f64(row: &sqlx::any::AnyRow, col: &str) -> Option<f64> {
    row.try_get::<Option<f64>, _>(col).ok().flatten()
}

/// Renders a dictation. `segments` is the stored segments JSON when the full
/// record is wanted (single GET); lists omit it.
pub fn render(view: &DictationView, segments: Option<&str>) -> Value {
    let r = &view.row;
    let s = |c: &str| opt_str(r, c);
    let time = |c: &str| opt_i64(r, c).map(rfc3339);
    let workflow = s("workflow_name").map(|name| json!({"name": name, "version": opt_i64(r, "workflow_version")}));
    let warnings: Value = s("audio_warnings").and_then(|w| serde_json::from_str(&w).ok()).unwrap_or(json!([]));
    let transcription = s("job_status").map(|status| {
        let mut t = json!({
            "status": status,
            "progress": opt_f64(r, "job_progress").unwrap_or(0.0),
            "attempts": opt_i64(r, "job_attempts").unwrap_or(0),
            "model": s("t_model"),
            "language": s("t_language"),
            "processing_seconds": opt_f64(r, "t_processing_seconds"),
            "text": s("t_text"),
            "raw_text": s("t_raw_text"),
            "error": s("job_error"),
        });
        if let Some(seg) = segments.and_then(|seg| serde_json::from_str::<Value>(seg).ok()) {
            t["segments"] = seg;
        }
        t
    });
    let draft = opt_i64(r, "draft_version").map(|version| {
        json!({"version": version, "text": s("draft_text"), "updated_at": time("draft_updated_at"), "updated_by": s("draft_updated_by")})
    });
    // The letter's SLA: state kept by the timers (and set at finish), deadlines as computed at routing.
    let sla = time("due_at").map(|breach_at| {
        json!({"state": s("sla_state").unwrap_or_else(|| "on_track".into()), "warn_at": time("warn_at"), "breach_at": breach_at})
    });
    json!({
        "id": s("id"),
        "status": s("status"),
        "stage": s("stage"),
        "workflow": workflow,
        "priority": s("priority"),
        "specialty": s("specialty"),
        "letter_type": s("letter_type"),
        "clinician": s("clinician_username"),
        "assignee": s("assignee_username"),
        "patient": {
            "nhs_number": s("patient_nhs_number"),
            "name": s("patient_name"),
            "dob": s("patient_dob"),
            "hospital_number": s("hospital_number"),
        },
        "notes": s("notes"),
        "created_at": time("created_at"),
        "updated_at": time("updated_at"),
        "due_at": time("due_at"),
        "sla": sla,
        "pool": s("pool"),
        "version": opt_i64(r, "version"),
        "failure_reason": s("failure_reason"),
        "audio": {
            "container": s("audio_container"),
            "codec": s("audio_codec"),
            "sample_rate": opt_i64(r, "audio_sample_rate"),
            "channels": opt_i64(r, "audio_channels"),
            "bits_per_sample": opt_i64(r, "audio_bits"),
            "duration_seconds": opt_f64(r, "audio_duration"),
            "bytes": opt_i64(r, "audio_bytes"),
            "sha256": s("audio_sha256"),
            "peak_dbfs": opt_f64(r, "audio_peak_dbfs"),
            "rms_dbfs": opt_f64(r, "audio_rms_dbfs"),
            "silent": opt_i64(r, "audio_silent").map(|v| v != 0),
            "warnings": warnings,
            "original_filename": s("original_filename"),
        },
        "transcription": transcription,
        "draft": draft,
    })
}

/// Adds `sla.working_seconds_left` to rendered dictations: working time from `now` to the
/// breach time on the letter's own calendar (its workflow's, with local closures;
/// negative once overdue), and `sla.working_day_seconds`, the length of a working day on
/// it, so clients can show "2 working days 3 h left" rather than wall-clock time.
pub async fn add_working_time_left(state: &super::AppState, items: &mut [Value]) -> anyhow::Result<()> {
    let deadline = |d: &Value| d["sla"]["breach_at"].as_str().and_then(crate::clock::parse_rfc3339);
    let now = state.clock.now_ms();
    let spans: Vec<Span> = items
        .iter()
        .filter_map(|d| {
            let to = deadline(d)?;
            let workflow = d["workflow"]["name"].as_str();
            Some(Span { workflow, version: d["workflow"]["version"].as_i64(), from: now, to })
        })
        .collect();
    if spans.is_empty() {
        return Ok(());
    }
    let left = working_times(&state.db, &spans).await?;
    let mut left = left.into_iter();
    for d in items.iter_mut().filter(|d| deadline(d).is_some()) {
        let Some(w) = left.next() else { break };
        d["sla"]["working_seconds_left"] = json!(w.seconds());
        d["sla"]["working_day_seconds"] = json!(w.day_seconds());
    }
    Ok(())
}
