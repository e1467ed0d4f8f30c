//! Credentials: a password reset revokes API tokens unless asked not to; super-users see
//! a user's tokens; `__Host-` cookies over HTTPS; two session cookies are refused.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::Backend;
use crate::identity::support::{PASSWORD, app, audit, call, login_resp};

crate::both_backends!(
    a_password_reset_revokes_api_tokens_by_default,
    the_command_line_reset_revokes_api_tokens_unless_kept,
    secure_cookies_are_host_prefixed,
    two_session_cookies_are_refused
);

async fn a_password_reset_revokes_api_tokens_by_default(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let token = app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let clinician = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let (status, me) = call(&app, "GET", &token, "/api/v1/auth/me", None).await;
    assert_eq!(status, 200);
    let id = me["id"].as_str().unwrap().to_string();
    let (status, named) =
        call(&app, "POST", &token, "/api/v1/auth/tokens", Some(json!({"name": "dictation app"}))).await;
    assert_eq!(status, 201, "{named}");
    // A super-user lists them: names and dates, never the secrets.
    let tokens_path = format!("/api/v1/users/{id}/tokens");
    let (status, _) = call(&app, "GET", &clinician, &tokens_path, None).await;
    assert_eq!(status, 403);
    let (status, listed) = call(&app, "GET", &admin, &tokens_path, None).await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{listed}");
    assert!(items.iter().any(|t| t["name"] == "dictation app"));
    let text = listed.to_string();
    assert!(!text.contains(&token) && !text.contains(named["token"].as_str().unwrap()), "{text}");
    let (status, by_name) = call(&app, "GET", &admin, "/api/v1/users/sec.jones/tokens", None).await;
    assert_eq!((status, by_name["items"].as_array().map(Vec::len)), (200, Some(2)));

    // Reset keeping the tokens: they still work.
    let reset = format!("/api/v1/users/{id}/password");
    let body = json!({"password": "a new long password", "revoke_tokens": false});
    assert_eq!(call(&app, "POST", &admin, &reset, Some(body)).await.0, 204);
    assert_eq!(call(&app, "GET", &token, "/api/v1/auth/me", None).await.0, 200);
    // The default: every API token of the user is revoked.
    assert_eq!(call(&app, "POST", &admin, &reset, Some(json!({"password": "another long password"}))).await.0, 204);
    assert_eq!(call(&app, "GET", &token, "/api/v1/auth/me", None).await.0, 401);
    assert_eq!(call(&app, "GET", named["token"].as_str().unwrap(), "/api/v1/auth/me", None).await.0, 401);
    let (_, listed) = call(&app, "GET", &admin, &tokens_path, None).await;
    assert_eq!(listed["items"], json!([]));
    let entries = audit(&app, &admin, &format!("action=admin.user_password&target={id}")).await;
    let revoked: Vec<(Value, Value)> = entries
        .iter()
        .map(|e| (e["details"]["revoke_tokens"].clone(), e["details"]["tokens_revoked"].clone()))
        .collect();
    assert_eq!(revoked, [(json!(true), json!(2)), (json!(false), json!(0))], "{entries:?}");
}

async fn secure_cookies_are_host_prefixed(backend: Backend) {
    let Some(app) = app(backend, |c| c.auth.secure_cookies = true).await else { return };
    app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let resp = login_resp(&app, "sec.jones", PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let cookies: Vec<String> =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let body: Value = resp.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(cookies.len(), 2);
    for c in &cookies {
        assert!(c.starts_with("__Host-dictaflow_"), "{c}");
        assert!(c.contains("; Path=/;") && c.contains("; Secure") && !c.to_lowercase().contains("domain"), "{c}");
    }
    let me = |cookie: String| app.client.get(app.url("/api/v1/auth/me")).header("cookie", cookie).send();
    assert_eq!(me(format!("__Host-dictaflow_session={token}")).await.unwrap().status(), 200);
    assert_eq!(me(format!("dictaflow_session={token}")).await.unwrap().status(), 401, "the plain name is not read");
    let resp = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", format!("__Host-dictaflow_session={token}"))
        .header("x-csrf-token", body["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let cleared: Vec<&str> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(cleared.iter().all(|c| c.starts_with("__Host-dictaflow_") && c.contains("Max-Age=0")), "{cleared:?}");
}

async fn two_session_cookies_are_refused(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let body: Value = login_resp(&app, "sec.jones", PASSWORD).await.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let me = |cookie: String| app.client.get(app.url("/api/v1/auth/me")).header("cookie", cookie).send();
    assert_eq!(me(format!("dictaflow_session={token}")).await.unwrap().status(), 200);
    for cookie in [
        format!("dictaflow_session={token}; dictaflow_session=dfl_planted"),
        format!("dictaflow_session=dfl_planted; dictaflow_session={token}"),
    ] {
        let resp = me(cookie).await.unwrap();
        assert_eq!(resp.status(), 400);
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "duplicate_session_cookie", "{problem}");
    }
    // Also across two Cookie headers, and on pages outside the API.
    let resp = app
        .client
        .get(app.url("/app/"))
        .header("cookie", format!("dictaflow_session={token}"))
        .header("cookie", "dictaflow_session=dfl_planted")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

async fn the_command_line_reset_revokes_api_tokens_unless_kept(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let token = app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let reset = |extra: &[&str]| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
            .arg("--data-dir")
            .arg(app.dir.path())
            .arg("--database-url")
            .arg(app.state.config.database_url())
            .args(["user", "reset-password", "sec.jones"])
            .args(extra)
            .env("RUST_LOG", "error")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"a brand new password\n").unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, out) = reset(&["--keep-tokens"]);
    assert!(ok && out.contains("0 API tokens revoked"), "{out}");
    assert_eq!(call(&app, "GET", &token, "/api/v1/auth/me", None).await.0, 200);
    let (ok, out) = reset(&[]);
    assert!(ok && out.contains("1 API tokens revoked"), "{out}");
    assert_eq!(call(&app, "GET", &token, "/api/v1/auth/me", None).await.0, 401);
    let entries = audit(&app, &admin, "action=admin.user_password").await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["actor"] == "cli"), "{entries:?}");
}
