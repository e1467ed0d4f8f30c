//! Super-user administration: `/api/v1/users` (list, create, change role, disable,
//! teams, password, single sign-on binding) and `/api/v1/teams` (list, create, members). Every change is audited.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::client::Client;
use super::extract::Json;
use crate::auth::CurrentUser;
use crate::auth::accounts::{self, AdminError, CreateUser, UserPatch};
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::storage::accounts::{self as store, Account};
use crate::storage::oidc_subjects;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).patch(patch_user))
        .route("/users/{id}/password", post(set_password))
        .route("/users/{id}/tokens", get(list_user_tokens))
        .route("/users/{id}/oidc", delete(unbind_oidc))
        .route("/teams", get(list_teams).post(create_team))
        .route("/teams/{name}/members", post(add_member))
        .route("/teams/{name}/members/{user}", delete(remove_member))
}

pub fn admin_error(e: AdminError) -> ApiError {
    match e {
        AdminError::NotFound(what) => ApiError::not_found(what),
        AdminError::Invalid(field, m) => ApiError::invalid_field(field, "validation_failed", m),
        AdminError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", m),
        AdminError::Internal(e) => ApiError::Internal(e),
    }
}

fn render(a: &Account) -> Value {
    json!({
        "id": a.id, "username": a.username, "display_name": a.display_name, "grade": a.grade,
        "job_title": a.job_title, "role": a.role,
        "teams": a.teams, "disabled": a.disabled, "created_at": rfc3339(a.created_at),
    })
}

async fn list_users(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageUsers)?;
    let items: Vec<Value> = store::list(&state.db).await?.iter().map(render).collect();
    Ok(axum::Json(json!({"items": items})))
}

async fn get_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageUsers)?;
    let mut tx = state.db.begin_read().await?;
    let account = store::find(&mut tx, &id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let binding = oidc_subjects::binding_of(&mut tx, &account.id).await?;
    tx.commit().await?;
    let mut body = render(&account);
    body["oidc_subject"] = match binding {
        Some(b) => json!({"issuer": b.issuer, "subject": b.subject, "bound_at": rfc3339(b.bound_at)}),
        None => Value::Null,
    };
    Ok(axum::Json(body))
}

/// One user by id or username, or 404.
async fn account(state: &AppState, id_or_name: &str) -> ApiResult<Account> {
    let mut tx = state.db.begin_read().await?;
    let account = store::find(&mut tx, id_or_name).await?.ok_or_else(|| ApiError::not_found("user"))?;
    tx.commit().await?;
    Ok(account)
}

/// Removes the user's single sign-on binding: their next sign-on binds again by username.
async fn unbind_oidc(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    policy::require(&user, Permission::ManageUsers)?;
    let removed = accounts::unbind_oidc(&state.db, &client.who(Some(&user)), &id, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("single sign-on binding")) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    role: Role,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    teams: Vec<String>,
    password: Option<String>,
}

async fn create_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<NewUserBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    policy::require(&user, Permission::ManageUsers)?;
    let new = CreateUser {
        username: body.username,
        display_name: body.display_name,
        role: body.role,
        teams: body.teams,
        password: body.password,
        create_teams: false,
    };
    let account = accounts::create_user(&state.db, &client.who(Some(&user)), new, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    Ok((StatusCode::CREATED, axum::Json(render(&account))))
}

async fn patch_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    Json(patch): Json<UserPatch>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageUsers)?;
    let account = accounts::update_user(&state.db, &client.who(Some(&user)), &id, patch, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    Ok(axum::Json(render(&account)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
    /// Revoke the user's API tokens too (the default).
    #[serde(default = "yes")]
    revoke_tokens: bool,
}

fn yes() -> bool {
    true
}

async fn set_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    Json(body): Json<PasswordBody>,
) -> ApiResult<StatusCode> {
    policy::require(&user, Permission::ManageUsers)?;
    let who = client.who(Some(&user));
    accounts::set_password(&state.db, &who, &id, body.password, body.revoke_tokens, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/tokens`: the user's live API tokens (names and dates, never secrets).
async fn list_user_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageUsers)?;
    let account = account(&state, &id).await?;
    let tokens = store::live_api_tokens(&state.db, &account.id, state.clock.now_ms()).await?;
    let items: Vec<Value> = tokens.iter().map(super::auth::token_json).collect();
    Ok(axum::Json(json!({"user": account.username, "items": items})))
}

async fn list_teams(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageUsers)?;
    Ok(axum::Json(json!({"items": store::teams(&state.db).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    name: String,
}

async fn create_team(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<TeamBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    policy::require(&user, Permission::ManageUsers)?;
    let id = accounts::create_team(&state.db, &client.who(Some(&user)), &body.name, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    Ok((StatusCode::CREATED, axum::Json(json!({"id": id, "name": body.name, "members": []}))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    user: String,
}

async fn add_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(team): Path<String>,
    Json(body): Json<MemberBody>,
) -> ApiResult<StatusCode> {
    policy::require(&user, Permission::ManageUsers)?;
    accounts::membership(&state.db, &client.who(Some(&user)), &team, &body.user, true, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path((team, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    policy::require(&user, Permission::ManageUsers)?;
    let removed =
        accounts::membership(&state.db, &client.who(Some(&user)), &team, &member, false, state.clock.now_ms())
            .await
            .map_err(admin_error)?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("membership")) }
}
