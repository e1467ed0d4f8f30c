//! Login throttling (per account and per client address, sliding window, 429 with
//! `Retry-After`), the session and CSRF cookies, and CSRF enforcement.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use super::support::{PASSWORD, app, audit, login, login_resp};
use crate::helpers::Backend;

async fn brute_force_is_throttled(backend: Backend) {
    let Some(app) = app(backend, |c| {
        c.auth.login_max_failures_per_account = 3;
        c.auth.login_max_failures_per_address = 5;
        c.auth.login_window_seconds = 60;
    })
    .await
    else {
        return;
    };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    app.user("dr.okafor", Role::Clinician, &["ent"]).await;

    // A success resets the account's count.
    for _ in 0..2 {
        assert_eq!(login_resp(&app, "dr.patel", "guess").await.status(), 401);
    }
    login(&app, "dr.patel").await;
    app.state.clock.advance_ms(1_000);
    for _ in 0..3 {
        assert_eq!(login_resp(&app, "dr.patel", "guess").await.status(), 401);
        app.state.clock.advance_ms(10_000);
    }
    // Three failures at 0 s, 10 s, 20 s; now 30 s: the first leaves the window at 60 s.
    let resp = login_resp(&app, "dr.patel", PASSWORD).await;
    assert_eq!(resp.status(), 429, "even the right password waits");
    assert_eq!(resp.headers()["retry-after"], "30");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    app.state.clock.advance_ms(29_000);
    assert_eq!(login_resp(&app, "dr.patel", PASSWORD).await.status(), 429);
    app.state.clock.advance_ms(1_000);
    login(&app, "dr.patel").await;

    // Per address: two of patel's failures (at 10 s and 20 s) are still in the window;
    // three more on other names make five from this address, and block every account.
    for name in ["nobody", "nobody", "someone"] {
        assert_eq!(login_resp(&app, name, "guess").await.status(), 401);
    }
    let resp = login_resp(&app, "dr.okafor", PASSWORD).await;
    assert_eq!(resp.status(), 429, "five failures from this address in the window");
    assert_eq!(resp.headers()["retry-after"], "10");
    app.state.clock.advance_ms(60_000);
    login(&app, "dr.okafor").await;

    // One entry per window and key, carrying its count: dr.patel's at 31 s (window
    // 0-60 s, written by the attempt at 60 s) and at 60 s, then the address's at 61 s.
    let throttled = audit(&app, &admin, "action=auth.login_throttled").await;
    assert_eq!(throttled.len(), 3, "{throttled:?}");
    assert_eq!(throttled[0]["target_id"], Value::Null);
    assert_eq!(throttled[0]["details"]["limited_by"], "address");
    assert_eq!(throttled[0]["client_addr"], "127.0.0.1");
    assert!(
        throttled[1..].iter().all(|e| e["target_id"] == "dr.patel" && e["details"]["attempts"] == 1),
        "{throttled:?}"
    );
    let failed = audit(&app, &admin, "action=auth.login_failed").await;
    assert_eq!(failed.len(), 8);
    assert!(failed.iter().all(|e| e["client_addr"] == "127.0.0.1"));
}

/// A flood of throttled attempts writes one audit entry per window and key, with the
/// count, instead of one entry per attempt; the chain still verifies.
async fn throttled_attempts_are_counted_not_logged_one_by_one(backend: Backend) {
    let Some(app) = app(backend, |c| c.auth.login_window_seconds = 60).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    for _ in 0..5 {
        assert_eq!(login_resp(&app, "dr.patel", "guess").await.status(), 401);
    }
    for _ in 0..20 {
        let batch = (0..25).map(|_| login_resp(&app, "dr.patel", "guess"));
        for resp in futures_util::future::join_all(batch).await {
            assert_eq!(resp.status(), 429);
        }
    }
    app.state.clock.advance_ms(120_000);
    // The next login (the failures have left the window) writes the ended window.
    login(&app, "dr.patel").await;
    let throttled = audit(&app, &admin, "action=auth.login_throttled&limit=1000").await;
    assert!(!throttled.is_empty() && throttled.len() <= 2, "{} entries", throttled.len());
    let attempts: i64 = throttled.iter().map(|e| e["details"]["attempts"].as_i64().unwrap()).sum();
    assert_eq!(attempts, 500);
    assert!(throttled.iter().all(|e| e["target_id"] == "dr.patel" && e["client_addr"] == "127.0.0.1"));
    let verified = dictaflow::audit::store::verify(&app.state.db).await.unwrap();
    assert!(verified.is_ok(), "{verified:?}");
}

async fn cookie_sessions_need_the_csrf_token(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let resp = login_resp(&app, "sec.jones", PASSWORD).await;
    let cookies: Vec<String> =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let body: Value = resp.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap();
    let session = cookies.iter().find(|c| c.starts_with("dictaflow_session=")).unwrap();
    let csrf_cookie = cookies.iter().find(|c| c.starts_with("dictaflow_csrf=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/"));
    assert_eq!(csrf_cookie.split(';').next().unwrap(), format!("dictaflow_csrf={csrf}"));
    assert!(csrf_cookie.contains("SameSite=Strict") && csrf_cookie.contains("Path=/"));
    assert!(!csrf_cookie.contains("HttpOnly"), "the page must read it");
    assert!(!session.contains("Secure"), "plain HTTP in tests");
    let jar = format!("{}; dictaflow_csrf={csrf}", session.split(';').next().unwrap());
    let token = body["token"].as_str().unwrap();

    // Reads need no CSRF token.
    let resp = app.client.get(app.url("/api/v1/auth/me")).header("cookie", &jar).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // Unsafe requests with the cookie alone, or a wrong token, are refused.
    let post = |path: &str| app.client.post(app.url(path)).header("cookie", &jar);
    for header in [None, Some("wrong"), Some("")] {
        let mut req = post("/api/v1/auth/tokens").json(&json!({"name": "x"}));
        if let Some(h) = header {
            req = req.header("x-csrf-token", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 403, "{header:?}");
        assert_eq!(resp.json::<Value>().await.unwrap()["code"], "csrf_failed");
    }
    let resp =
        post("/api/v1/auth/tokens").header("x-csrf-token", csrf).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    // Another session's token does not fit this one.
    let other = login(&app, "sec.jones").await;
    assert_ne!(other.csrf, csrf);
    let resp = post("/api/v1/auth/logout").header("x-csrf-token", &other.csrf).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    // Bearer requests are exempt (no ambient credential), even with the cookie present.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/tokens"))
        .bearer_auth(&other.token)
        .header("cookie", &jar)
        .json(&json!({"name": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Logout with the token: the session ends and both cookies are cleared.
    let resp = post("/api/v1/auth/logout").header("x-csrf-token", csrf).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let cleared: Vec<&str> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(cleared.iter().any(|c| c.starts_with("dictaflow_session=;") && c.contains("Max-Age=0")));
    assert!(cleared.iter().any(|c| c.starts_with("dictaflow_csrf=;") && c.contains("Max-Age=0")));
    let resp = app.client.get(app.url("/api/v1/auth/me")).header("cookie", &jar).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app.client.get(app.url("/api/v1/auth/me")).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 401, "the same session, as a bearer token");
}

async fn secure_cookies_when_configured(backend: Backend) {
    let Some(app) = app(backend, |c| c.auth.secure_cookies = true).await else { return };
    app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let resp = login_resp(&app, "sec.jones", PASSWORD).await;
    let cookies: Vec<&str> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 2);
    assert!(cookies.iter().all(|c| c.contains("; Secure")), "{cookies:?}");
}

async fn forwarded_for_only_from_trusted_proxies(backend: Backend) {
    for (trusted, expected) in [(vec![], "127.0.0.1"), (vec!["127.0.0.0/8".to_string()], "203.0.113.7")] {
        let Some(app) = app(backend, |c| {
            c.server.trusted_proxies = trusted;
            c.auth.login_max_failures_per_address = 1;
        })
        .await
        else {
            return;
        };
        let admin = app.user("admin", Role::Superuser, &[]).await;
        let attempt = |forwarded: &'static str| {
            app.client
                .post(app.url("/api/v1/auth/login"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"username": "nobody", "password": "guess"}))
                .send()
        };
        assert_eq!(attempt("198.51.100.1, 203.0.113.7").await.unwrap().status(), 401);
        let failed = audit(&app, &admin, "action=auth.login_failed").await;
        assert_eq!(failed[0]["client_addr"], expected);
        // Behind a trusted proxy, each client address has its own budget.
        let other = attempt("203.0.113.8").await.unwrap().status();
        assert_eq!(other, if expected == "127.0.0.1" { 429 } else { 401 });
    }
}

crate::both_backends!(
    brute_force_is_throttled,
    throttled_attempts_are_counted_not_logged_one_by_one,
    cookie_sessions_need_the_csrf_token,
    secure_cookies_when_configured,
    forwarded_for_only_from_trusted_proxies
);
