//! Working calendars: each calendar file's working days and hours and bank holidays
//! (with a warning when they run out within a year), and the local closures super-users
//! add or remove. A closure changes the due times computed from then on (new letters,
//! stages entered later); deadlines already given are kept.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::record;
use super::client::Client;
use super::extract::Json;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::storage::calendars as store;
use crate::timers::Calendar;
use crate::workflow::calendar_file::day_name;
use crate::workflow::service::defs::calendars;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendars", get(list))
        .route("/calendars/{name}", get(get_one))
        .route("/calendars/{name}/closures", axum::routing::post(add))
        .route("/calendars/{name}/closures/{date}", delete(remove))
}

/// Longest range one request may close.
const MAX_RANGE_DAYS: i64 = 366;

fn known(state: &AppState, name: &str) -> ApiResult<std::sync::Arc<Calendar>> {
    calendars(&state.db.memo).get(name).cloned().ok_or_else(|| ApiError::not_found("calendar"))
}

/// Today in the calendar's own time zone.
fn today(state: &AppState, c: &Calendar) -> NaiveDate {
    crate::clock::from_ms(state.clock.now_ms()).with_timezone(&c.timezone()).date_naive()
}

/// The warnings of every calendar whose bank holidays run out within a year (`/readyz`).
pub fn holiday_warnings(state: &AppState) -> Vec<String> {
    calendars(&state.db.memo).values().filter_map(|c| c.holidays_warning(today(state, c))).collect()
}

fn summary(state: &AppState, c: &Calendar) -> Value {
    json!({
        "name": c.name(),
        "timezone": c.timezone().name(),
        "working_days": c.working_days().into_iter().map(day_name).collect::<Vec<_>>(),
        "working_hours": {"opens": c.opens().format("%H:%M").to_string(), "closes": c.closes().format("%H:%M").to_string()},
        "last_listed_holiday": c.last_listed_holiday(),
        "warning": c.holidays_warning(today(state, c)),
    })
}

fn date(field: &str, value: &str) -> ApiResult<NaiveDate> {
    let bad = || ApiError::invalid_field(field, "validation_failed", format!("{field} must be a date YYYY-MM-DD"));
    let d = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    let in_range = (2000..=2100).contains(&chrono::Datelike::year(&d));
    if !in_range {
        return Err(ApiError::invalid_field(
            field,
            "validation_failed",
            format!("{field} must be between 2000 and 2100"),
        ));
    }
    Ok(d)
}

async fn list(State(state): State<AppState>, _user: CurrentUser) -> ApiResult<axum::Json<Value>> {
    let items: Vec<Value> = calendars(&state.db.memo).values().map(|c| summary(&state, c)).collect();
    Ok(axum::Json(json!({ "items": items })))
}

async fn get_one(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let c = known(&state, &name)?;
    let holidays: Vec<Value> = c.holidays().iter().map(|(d, n)| json!({"date": d, "name": n})).collect();
    let closures: Vec<Value> = store::list(&state.db, &name)
        .await?
        .iter()
        .map(|c| json!({"date": c.day, "reason": c.reason, "created_at": rfc3339(c.created_at), "created_by": c.created_by}))
        .collect();
    let mut body = summary(&state, &c);
    body["bank_holidays"] = json!(holidays);
    body["closures"] = json!(closures);
    Ok(axum::Json(body))
}

/// One day (`date`) or an inclusive range (`from`, `to`), with a reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClosureBody {
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    reason: Option<String>,
}

fn days_of(body: &ClosureBody) -> ApiResult<Vec<NaiveDate>> {
    let (first, last) = match (&body.date, &body.from, &body.to) {
        (Some(d), None, None) => {
            let d = date("date", d)?;
            (d, d)
        }
        (None, Some(f), Some(t)) => (date("from", f)?, date("to", t)?),
        (None, Some(_), None) => {
            return Err(ApiError::invalid_field("to", "validation_failed", "to is required with from"));
        }
        (None, None, Some(_)) => {
            return Err(ApiError::invalid_field("from", "validation_failed", "from is required with to"));
        }
        (None, None, None) => {
            return Err(ApiError::invalid_field("date", "validation_failed", "give a date, or a range from and to"));
        }
        (Some(_), _, _) => {
            return Err(ApiError::invalid_field(
                "date",
                "validation_failed",
                "give either date or from and to, not both",
            ));
        }
    };
    let span = (last - first).num_days();
    if span < 0 {
        return Err(ApiError::invalid_field("to", "validation_failed", "to must not be before from"));
    }
    if span >= MAX_RANGE_DAYS {
        return Err(ApiError::invalid_field(
            "to",
            "validation_failed",
            format!("a range may span at most {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok(first.iter_days().take(span as usize + 1).collect())
}

async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(name): Path<String>,
    Json(body): Json<ClosureBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    policy::require(&user.0, Permission::ManageDefinitions)?;
    known(&state, &name)?;
    let days = days_of(&body)?;
    let reason = body.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "reason",
            "validation_failed",
            "reason is required (at most 200 characters)",
        ));
    }
    store::add(&state.db, &name, &days, reason, &user.0.id, state.clock.now_ms()).await?;
    tracing::info!(calendar = %name, first = %days[0], days = days.len(), "closure added");
    let details = json!({"first": days[0], "days": days.len(), "reason": reason});
    record(&state, Some(&user.0), &client, action::CLOSURE_ADD, Some(("calendar", &name)), details).await?;
    let closed: Vec<Value> = days.iter().map(|d| json!({"date": d, "reason": reason})).collect();
    Ok((StatusCode::CREATED, axum::Json(json!({"calendar": name, "closures": closed}))))
}

async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path((name, day)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    policy::require(&user.0, Permission::ManageDefinitions)?;
    known(&state, &name)?;
    let day = date("date", &day)?;
    if store::remove(&state.db, &name, day).await? {
        tracing::info!(calendar = %name, %day, "closure removed");
        let details = json!({"date": day});
        record(&state, Some(&user.0), &client, action::CLOSURE_REMOVE, Some(("calendar", &name)), details).await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("closure"))
    }
}
