//! The audit trail's HTTP face: `record` for handlers (`record_in` for a change made in a
//! transaction, so that the change and its entry commit together), and `GET /api/v1/audit` for
//! super-users (filters `actor`, `action` (a trailing `.` matches a family), `target`,
//! `from`, `to`, `limit`, `cursor`; newest first).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::client::Client;
use super::extract::Query;
use crate::audit::Record;
use crate::audit::store::{self, Search};
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::storage::Tx;
use crate::storage::users::User;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(search))
}

/// Appends an entry by `user` from `client`. A request whose audit entry cannot be
/// written fails (500): an access that cannot be proven is not served.
pub async fn record(
    state: &AppState,
    user: Option<&User>,
    client: &Client,
    action: &'static str,
    target: Option<(&str, &str)>,
    details: Value,
) -> ApiResult<()> {
    let mut entry = client.who(user).entry(action).details(details);
    if let Some((kind, id)) = target {
        entry = entry.target(kind, id);
    }
    state.audit.record(entry, state.clock.now_ms()).await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// Appends an entry by `user` from `client` in `tx`, the transaction that makes the change
/// it records: the change and its entry commit together, or neither does.
pub async fn record_in(
    tx: &mut Tx,
    state: &AppState,
    user: &User,
    client: &Client,
    action: &'static str,
    target: (&str, &str),
    details: Value,
) -> ApiResult<()> {
    let entry = client.who(Some(user)).entry(action).target(target.0, target.1).details(details);
    store::append(tx, state.db.backend, &entry, state.clock.now_ms()).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn time_param(field: &str, v: Option<&str>) -> ApiResult<Option<i64>> {
    v.map(|v| {
        parse_rfc3339(v).ok_or_else(|| {
            ApiError::invalid_field(field, "validation_failed", format!("{field} must be an RFC 3339 time"))
        })
    })
    .transpose()
}

fn render(r: &Record) -> Value {
    json!({
        "seq": r.seq,
        "at": rfc3339(r.at),
        "actor": r.actor,
        "actor_id": r.actor_id,
        "action": r.action,
        "target_type": r.target_type,
        "target_id": r.target_id,
        "client_addr": r.client_addr,
        "user_agent": r.user_agent,
        "details": serde_json::from_str::<Value>(&r.details).unwrap_or(Value::String(r.details.clone())),
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    })
}

async fn search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<SearchQuery>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ReadAudit)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 1000"));
    }
    let before_seq = q
        .cursor
        .as_deref()
        .map(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("seq:").and_then(|n| n.parse::<i64>().ok()))
                .ok_or_else(|| {
                    ApiError::invalid_field("cursor", "validation_failed", "cursor is not one this server issued")
                })
        })
        .transpose()?;
    let search = Search {
        actor: q.actor.filter(|s| !s.is_empty()),
        action: q.action.filter(|s| !s.is_empty()),
        target: q.target.filter(|s| !s.is_empty()),
        from: time_param("from", q.from.as_deref())?,
        to: time_param("to", q.to.as_deref())?,
        before_seq,
        limit: limit + 1,
    };
    let mut rows = store::search(&state.db, &search).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{}", r.seq)))
    } else {
        None
    };
    let items: Vec<Value> = rows.iter().map(render).collect();
    Ok(axum::Json(json!({"items": items, "next_cursor": next_cursor})))
}
