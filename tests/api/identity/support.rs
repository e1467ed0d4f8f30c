//! A manual clock, users of every role, and helpers to log in and call the API.

use dictaflow::clock::{Clock, parse_rfc3339};
use dictaflow::config::Config;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_clocked};

pub const START: &str = "2026-03-02T10:00:00Z";
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;
pub const PASSWORD: &str = "correct horse battery";

pub async fn app(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    spawn_app_clocked(backend, Clock::manual(parse_rfc3339(START).unwrap()), tweak).await
}

/// A logged-in session: its token and CSRF token.
pub struct Session {
    pub token: String,
    pub csrf: String,
}

pub async fn login_resp(app: &TestApp, username: &str, password: &str) -> Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

pub async fn login(app: &TestApp, username: &str) -> Session {
    let resp = login_resp(app, username, PASSWORD).await;
    assert_eq!(resp.status(), 200, "login {username}");
    let body: Value = resp.json().await.unwrap();
    Session {
        token: body["token"].as_str().unwrap().to_string(),
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    }
}

/// A JSON request with a bearer token; returns status and body.
pub async fn call(app: &TestApp, method: &str, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Audit entries (newest first) found by a super-user's search.
pub async fn audit(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let (status, body) = call(app, "GET", admin, &format!("/api/v1/audit?{query}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}
