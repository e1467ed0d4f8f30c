//! Single sign-on against a small OpenID Connect provider started by the test:
//! discovery, authorization code with PKCE, ES256-signed ID tokens, and the refusals
//! (unknown user, wrong signing key, wrong audience, expired token, replayed or
//! foreign state).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use dictaflow::domain::Role;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::support::{HOUR, app, audit};
use crate::helpers::{Backend, TestApp};

/// What the provider does on the next sign-in.
#[derive(Clone)]
struct Behaviour {
    username: String,
    audience: String,
    /// Sign with a key that is not in the published JWKS.
    wrong_key: bool,
    /// Seconds the token lives from `iat` (the provider's real clock).
    lifetime: i64,
    now: i64,
}

struct Provider {
    base: String,
    key: EcdsaKeyPair,
    rogue: EcdsaKeyPair,
    behaviour: Mutex<Behaviour>,
    /// code -> (nonce, code_challenge)
    codes: Mutex<HashMap<String, (String, String)>>,
}

fn key() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

async fn discovery(State(p): State<Arc<Provider>>) -> Json<Value> {
    Json(json!({
        "issuer": p.base, "authorization_endpoint": format!("{}/authorize", p.base),
        "token_endpoint": format!("{}/token", p.base), "jwks_uri": format!("{}/jwks", p.base),
    }))
}

async fn jwks(State(p): State<Arc<Provider>>) -> Json<Value> {
    let point = p.key.public_key().as_ref();
    Json(json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..])}]}))
}

/// The user has already authenticated at the provider: answer with a code at once.
async fn authorize(State(p): State<Arc<Provider>>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "dictaflow");
    assert_eq!(q["code_challenge_method"], "S256");
    let code = format!("code-{}", q["state"].len() + p.codes.lock().unwrap().len());
    p.codes.lock().unwrap().insert(code.clone(), (q["nonce"].clone(), q["code_challenge"].clone()));
    Redirect::to(&format!("{}?code={code}&state={}", q["redirect_uri"], q["state"])).into_response()
}

async fn token(State(p): State<Arc<Provider>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let refuse = |why: &str| (axum::http::StatusCode::BAD_REQUEST, Json(json!({"error": why}))).into_response();
    if f.get("client_secret").map(String::as_str) != Some("s3cret") {
        return refuse("invalid_client");
    }
    let Some((nonce, challenge)) = f.get("code").and_then(|c| p.codes.lock().unwrap().remove(c)) else {
        return refuse("invalid_grant");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if B64.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refuse("invalid_grant: PKCE");
    }
    let b = p.behaviour.lock().unwrap().clone();
    let claims = json!({"iss": p.base, "aud": b.audience, "sub": "idp-42", "preferred_username": b.username,
        "nonce": nonce, "iat": b.now, "exp": b.now + b.lifetime});
    let head = B64.encode(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}).to_string());
    let body = B64.encode(claims.to_string());
    let signer = if b.wrong_key { &p.rogue } else { &p.key };
    let sig = signer.sign(&SystemRandom::new(), format!("{head}.{body}").as_bytes()).unwrap();
    Json(json!({"id_token": format!("{head}.{body}.{}", B64.encode(sig.as_ref())), "token_type": "Bearer",
        "access_token": "unused"}))
    .into_response()
}

async fn start_provider(now: i64) -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let behaviour =
        Behaviour { username: "dr.patel".into(), audience: "dictaflow".into(), wrong_key: false, lifetime: 300, now };
    let p = Arc::new(Provider {
        base,
        key: key(),
        rogue: key(),
        behaviour: Mutex::new(behaviour),
        codes: Mutex::new(HashMap::new()),
    });
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(p.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    p
}

fn cookie_pairs(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect()
}

const CALLBACK: &str = "http://dictaflow.invalid/api/v1/auth/oidc/callback";

/// Starts a sign-in and lets the provider answer; returns the callback URL (pointed at
/// the test server) and the state cookie the browser holds.
async fn to_callback(app: &TestApp, browser: &reqwest::Client) -> (String, String) {
    let start = browser.get(app.url("/api/v1/auth/oidc/login")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let state_cookie = cookie_pairs(&start).join("; ");
    assert!(state_cookie.starts_with("dictaflow_oidc="));
    let to_provider = start.headers()["location"].to_str().unwrap().to_string();
    assert!(to_provider.contains("code_challenge=") && to_provider.contains("nonce="));
    let at_provider = browser.get(&to_provider).send().await.unwrap();
    assert_eq!(at_provider.status(), 303);
    let back = at_provider.headers()["location"].to_str().unwrap();
    (back.replace("http://dictaflow.invalid", &app.base), state_cookie)
}

async fn sign_in(app: &TestApp, browser: &reqwest::Client) -> reqwest::Response {
    let (back, cookie) = to_callback(app, browser).await;
    browser.get(&back).header("cookie", cookie).send().await.unwrap()
}

async fn single_sign_on(backend: Backend) {
    let clock_start = dictaflow::clock::parse_rfc3339(super::support::START).unwrap();
    let provider = start_provider(clock_start / 1000).await;
    let issuer = provider.base.clone();
    let Some(app) = app(backend, |c| {
        c.oidc.issuer = issuer;
        c.oidc.client_id = "dictaflow".into();
        c.oidc.client_secret = dictaflow::config::Secret::new("s3cret");
        c.oidc.redirect_url = CALLBACK.into();
    })
    .await
    else {
        return;
    };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let resp = sign_in(&app, &browser).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/app/");
    let cookies = cookie_pairs(&resp);
    let session = cookies.iter().find(|c| c.starts_with("dictaflow_session=dfl_")).expect("a session cookie");
    assert!(cookies.iter().any(|c| c.starts_with("dictaflow_csrf=") && c.len() > 20));
    assert!(cookies.contains(&"dictaflow_oidc=".to_string()), "the state cookie is cleared");
    let me = app.client.get(app.url("/api/v1/auth/me")).header("cookie", session).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "dr.patel");
    let logins = audit(&app, &admin, "action=auth.login").await;
    assert_eq!((logins[0]["actor"].as_str(), logins[0]["details"]["via"].as_str()), (Some("dr.patel"), Some("oidc")));

    // A callback is good once, and only in the browser that started the login.
    let (back, cookie) = to_callback(&app, &browser).await;
    assert_eq!(browser.get(&back).header("cookie", &cookie).send().await.unwrap().status(), 303);
    assert_eq!(browser.get(&back).header("cookie", &cookie).send().await.unwrap().status(), 401, "replayed");
    let (back, _) = to_callback(&app, &browser).await;
    assert_eq!(browser.get(&back).send().await.unwrap().status(), 401, "no state cookie");

    // Refusals: each is a 401 and an audited failure with its reason.
    type Change = fn(&mut Behaviour);
    let cases: [(&str, Change); 3] = [
        ("no active user", |b| b.username = "dr.nobody".into()),
        ("bad signature", |b| b.wrong_key = true),
        ("another client", |b| b.audience = "someone-else".into()),
    ];
    for (reason, change) in cases {
        let saved = provider.behaviour.lock().unwrap().clone();
        change(&mut provider.behaviour.lock().unwrap());
        let resp = sign_in(&app, &browser).await;
        assert_eq!(resp.status(), 401, "{reason}");
        assert!(!cookie_pairs(&resp).iter().any(|c| c.starts_with("dictaflow_session")));
        let failed = audit(&app, &admin, "action=auth.login_failed").await;
        let why = failed[0]["details"]["reason"].as_str().unwrap();
        assert!(why.contains(reason), "{reason}: {why}");
        *provider.behaviour.lock().unwrap() = saved;
    }
    // An ID token issued two hours ago (by the provider's clock) has expired.
    app.state.clock.advance_ms(2 * HOUR);
    let resp = sign_in(&app, &browser).await;
    assert_eq!(resp.status(), 401);
    let failed = audit(&app, &admin, "action=auth.login_failed").await;
    assert!(failed[0]["details"]["reason"].as_str().unwrap().contains("expired"));
    provider.behaviour.lock().unwrap().now += 2 * 3600;
    assert_eq!(sign_in(&app, &browser).await.status(), 303);
}

async fn off_unless_configured(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    for path in ["/api/v1/auth/oidc/login", "/api/v1/auth/oidc/callback?code=x&state=y"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}

crate::both_backends!(single_sign_on, off_unless_configured);
