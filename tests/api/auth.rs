//! Login, logout, tokens, and that nothing under /api is open to anonymous callers.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn anonymous_calls_are_refused(app: TestApp) {
    for path in
        ["/api/v1/dictations", "/api/v1/dictations/x", "/api/v1/dictations/x/audio", "/api/v1/auth/me", "/api/v1/nope"]
    {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
    }
    let resp = app.client.post(app.url("/api/v1/dictations")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app.client.get(app.url("/api/v1/dictations")).bearer_auth("dfl_forged").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

async fn login_logout_round_trip(app: TestApp) {
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let login = |user: &str, password: &str| {
        app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": user, "password": password})).send()
    };
    let wrong_password = login("dr.patel", "nope").await.unwrap();
    let no_user = login("dr.nobody", "nope").await.unwrap();
    assert_eq!(wrong_password.status(), 401);
    assert_eq!(no_user.status(), 401);
    let a: Value = wrong_password.json().await.unwrap();
    let b: Value = no_user.json().await.unwrap();
    assert_eq!(a, b, "the same answer whether or not the user exists");

    let resp = login("dr.patel", "correct horse battery").await.unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("dictaflow_session=") && cookie.contains("HttpOnly"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["username"], "dr.patel");
    assert_eq!(body["user"]["role"], "clinician");
    assert_eq!(body["user"]["teams"], json!(["ent"]));
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    let token = body["token"].as_str().unwrap().to_string();

    let (status, me) = app.get_json(&token, "/api/v1/auth/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "dr.patel");
    // The cookie alone authenticates too (browser sessions).
    let session = cookie.split(';').next().unwrap();
    let resp = app.client.get(app.url("/api/v1/auth/me")).header("cookie", session).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let resp = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let (status, _) = app.get_json(&token, "/api/v1/auth/me").await;
    assert_eq!(status, 401, "a logged-out token no longer works");

    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

crate::on_both_backends!(anonymous_calls_are_refused, login_logout_round_trip);
