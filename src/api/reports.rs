//! Reports: turnaround against target, as JSON or CSV (`Accept: text/csv`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::audit::record;
use super::client::Client;
use super::dictations::scope_of;
use super::extract::Query;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::workflow::service::turnaround::{GroupBy, report, to_csv};
use crate::workflow::service::turnaround_detail;

pub fn router() -> Router<AppState> {
    Router::new().route("/reports/turnaround", get(turnaround))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnaroundQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
}

/// An RFC 3339 time or a `YYYY-MM-DD` date (midnight UTC).
fn time_param(field: &str, value: &str) -> ApiResult<i64> {
    parse_rfc3339(value)
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp_millis())
        })
        .ok_or_else(|| {
            ApiError::invalid_field(
                field,
                "validation_failed",
                format!("{field} must be an RFC 3339 time or YYYY-MM-DD"),
            )
        })
}

const DAY_MS: i64 = 86_400_000;

async fn turnaround(
    State(state): State<AppState>,
    current: CurrentUser,
    client: Client,
    headers: HeaderMap,
    Query(q): Query<TurnaroundQuery>,
) -> ApiResult<Response> {
    policy::require(&current.0, Permission::ViewReports)?;
    let now = state.clock.now_ms();
    let to = q.to.as_deref().map(|v| time_param("to", v)).transpose()?.unwrap_or(now + 1);
    let from = q.from.as_deref().map(|v| time_param("from", v)).transpose()?.unwrap_or(to - 30 * DAY_MS);
    if from >= to {
        return Err(ApiError::invalid_field("from", "validation_failed", "from must be before to"));
    }
    let by: GroupBy = q
        .group_by
        .as_deref()
        .unwrap_or("priority")
        .parse()
        .map_err(|e: String| ApiError::invalid_field("group_by", "validation_failed", e))?;
    let scope = scope_of(&current.0);
    let csv = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    let details = json!({"report": "turnaround", "from": rfc3339(from), "to": rfc3339(to),
        "group_by": q.group_by.as_deref().unwrap_or("priority"), "format": if csv { "csv" } else { "json" }});
    record(&state, Some(&current.0), &client, action::REPORT_EXPORT, Some(("report", "turnaround")), details).await?;
    if csv {
        let rows = report(&state.db, &scope, from, to, by, now).await?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&rows)).into_response());
    }
    let group_by = q.group_by.unwrap_or_else(|| "priority".into());
    let (rows, stages, breaches) = tokio::try_join!(
        report(&state.db, &scope, from, to, by, now),
        turnaround_detail::stage_times(&state.db, &scope, from, to),
        turnaround_detail::breaches(&state.db, &scope, from, to, now),
    )?;
    // The default calendar's working day (each group's working days are counted on
    // each letter's own calendar).
    let day = crate::workflow::service::defs::default_calendar();
    let working_day_hours = day.working_day_length().num_minutes() as f64 / 60.0;
    Ok(axum::Json(json!({"from": rfc3339(from), "to": rfc3339(to), "group_by": group_by, "groups": rows,
        "stages": stages, "breaches": breaches, "breaches_listed_max": turnaround_detail::MAX_BREACHES,
        "working_day_hours": working_day_hours}))
    .into_response())
}
