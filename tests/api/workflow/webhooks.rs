//! Webhooks: configured by a super-user (secret write-only, fields validated), each
//! warning and breach POSTed once with a verifiable signature, failed deliveries retried
//! with backoff on the manual clock, and marked failed after the last attempt. A receiver
//! that checks the signed timestamp refuses a replayed request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use dictaflow::clock::Clock;
use dictaflow::webhooks::deliver::{Policy, client, deliver_due};
use dictaflow::webhooks::sign::{DEFAULT_TOLERANCE_SECONDS, Rejected, verify};
use serde_json::{Value, json};

use super::support::{DAY, Team, team};
use crate::helpers::Backend;

crate::both_backends!(
    webhooks_are_configured_by_a_superuser,
    each_warning_and_breach_is_posted_once_signed,
    failed_deliveries_are_retried_with_backoff_then_given_up,
    a_verifying_receiver_accepts_deliveries_and_refuses_replays
);

pub const SECRET: &str = "correct-horse-battery-staple";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A tiny HTTP receiver: records every request and answers the scripted statuses in
/// turn (200 once the script is used up).
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(script: Vec<u16>) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(Mutex::new(script.into_iter()));
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    g.lock().unwrap().push(Received { headers, body: body.to_vec() });
                    let status = s.lock().unwrap().next().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got }
    }

    /// A receiver that checks each request as the README tells receivers to (the signed
    /// timestamp within five minutes of its clock): 200 when it verifies, else 401.
    async fn verifying(clock: Clock) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let g = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (g, clock) = (g.clone(), clock.clone());
                async move {
                    g.lock().unwrap().push(Received { headers: headers.clone(), body: body.to_vec() });
                    match check(&headers, &body, clock.now_ms() / 1000) {
                        Ok(()) => StatusCode::OK,
                        Err(_) => StatusCode::UNAUTHORIZED,
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// The headers a sender chooses (signature, timestamp, event, content type), as a replay
/// would copy them.
fn sender_headers(headers: &HeaderMap) -> HeaderMap {
    let chosen = |k: &str| k.starts_with("x-dictaflow-") || k == "content-type";
    headers.iter().filter(|(k, _)| chosen(k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The receiver's check of one request at `now` (Unix seconds).
fn check(headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Rejected> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (timestamp, signature) = (header("x-dictaflow-timestamp"), header("x-dictaflow-signature"));
    verify(SECRET, &timestamp, body, &signature, now, DEFAULT_TOLERANCE_SECONDS)
}

impl Team {
    pub async fn create_webhook(&self, token: &str, body: Value) -> (u16, Value) {
        let resp = self.app.client.post(self.app.url("/api/v1/webhooks")).bearer_auth(token).json(&body).send().await;
        let resp = resp.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn deliveries(&self, hook: &str) -> Vec<Value> {
        let (status, d) = self.app.get_json(&self.admin, &format!("/api/v1/webhooks/{hook}/deliveries")).await;
        assert_eq!(status, 200, "{d}");
        d["items"].as_array().unwrap().clone()
    }

    /// Delivers what is due (this test's pass, or the server's own deliverer) until the
    /// receiver has `want` requests and no delivery is mid-attempt.
    pub async fn settle(&self, rx: &Receiver, hook: &str, want: usize) {
        let s = &self.app.state;
        let policy = Policy::from(&s.config.webhooks);
        let http = client(&policy);
        for _ in 0..100 {
            deliver_due(&s.db, &http, &s.clock, &policy, "test").await.unwrap();
            let busy = self.deliveries(hook).await.iter().any(|d| d["status"] == "delivering");
            if rx.received().len() >= want && !busy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Nothing more arrives once settled.
        tokio::time::sleep(Duration::from_millis(200)).await;
        deliver_due(&s.db, &http, &s.clock, &policy, "test").await.unwrap();
        assert_eq!(rx.received().len(), want, "requests received");
    }
}

async fn webhooks_are_configured_by_a_superuser(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let good = json!({"url": "https://receiver.example/hook", "secret": SECRET, "events": ["sla.breach"]});
    let (status, _) = t.create_webhook(&t.lead, good.clone()).await;
    assert_eq!(status, 403, "team leads may not configure webhooks");
    for (field, body) in [
        ("url", json!({"url": "not a url", "secret": SECRET, "events": ["sla.breach"]})),
        ("url", json!({"url": "ftp://x.example/", "secret": SECRET, "events": ["sla.breach"]})),
        ("url", json!({"secret": SECRET, "events": ["sla.breach"]})),
        ("secret", json!({"url": "https://receiver.example/hook", "secret": "short", "events": ["sla.breach"]})),
        ("events", json!({"url": "https://receiver.example/hook", "secret": SECRET, "events": ["sla.nope"]})),
        ("events", json!({"url": "https://receiver.example/hook", "secret": SECRET, "events": []})),
    ] {
        let (status, problem) = t.create_webhook(&t.admin, body).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{problem}");
        assert_eq!(problem["code"], "validation_failed");
    }
    let (status, created) = t.create_webhook(&t.admin, good).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["events"], json!(["sla.breach"]));
    assert_eq!(created["enabled"], true);
    let id = created["id"].as_str().unwrap();
    let (status, listed) = t.app.get_json(&t.admin, "/api/v1/webhooks").await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    for text in [created.to_string(), listed.to_string()] {
        assert!(!text.contains(SECRET), "the secret is never answered: {text}");
    }
    assert_eq!(t.app.get_json(&t.lead, "/api/v1/webhooks").await.0, 403);
    let url = t.app.url(&format!("/api/v1/webhooks/{id}"));
    assert_eq!(t.app.client.delete(&url).bearer_auth(&t.admin).send().await.unwrap().status(), 204);
    assert_eq!(t.app.client.delete(&url).bearer_auth(&t.admin).send().await.unwrap().status(), 404);
    assert_eq!(t.app.get_json(&t.admin, &format!("/api/v1/webhooks/{id}/deliveries")).await.0, 404);
}

async fn each_warning_and_breach_is_posted_once_signed(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let rx = Receiver::start(vec![]).await;
    let body = json!({"url": rx.url, "secret": SECRET, "events": ["sla.warning", "sla.breach"]});
    let (status, hook) = t.create_webhook(&t.admin, body).await;
    assert_eq!(status, 201, "{hook}");
    let hook = hook["id"].as_str().unwrap().to_string();
    let id = t.upload(&t.patel, "routine").await["id"].as_str().unwrap().to_string();

    // The warning (Friday 10:00), fired twice: one POST.
    t.advance(4 * DAY);
    t.fire().await;
    t.fire().await;
    t.settle(&rx, &hook, 1).await;
    // The breach (Monday 10:00) a day late.
    t.advance(5 * DAY);
    t.fire().await;
    t.fire().await;
    t.settle(&rx, &hook, 2).await;

    let got = rx.received();
    let bodies: Vec<Value> = got.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(bodies.iter().map(|b| b["event"].as_str().unwrap()).collect::<Vec<_>>(), ["sla.warning", "sla.breach"]);
    for (r, b) in got.iter().zip(&bodies) {
        let sig = r.headers["x-dictaflow-signature"].to_str().unwrap();
        let ts = r.headers["x-dictaflow-timestamp"].to_str().unwrap();
        // As received: the clock has moved on since the warning was sent.
        let now = ts.parse::<i64>().unwrap();
        assert_eq!(verify(SECRET, ts, &r.body, sig, now, DEFAULT_TOLERANCE_SECONDS), Ok(()), "{sig} verifies");
        let other = verify("another-secret-of-some-length", ts, &r.body, sig, now, DEFAULT_TOLERANCE_SECONDS);
        assert_eq!(other, Err(Rejected::BadSignature));
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.headers["x-dictaflow-event"].to_str().unwrap(), b["event"]);
        assert_eq!(b["dictation"]["id"], id.as_str());
        assert_eq!(b["target"]["scope"], "letter");
        assert!(b.get("patient").is_none() && !String::from_utf8_lossy(&r.body).contains("nhs"));
    }
    assert_eq!(bodies[1]["late"], true, "the breach fired a day late");
    let deliveries = t.deliveries(&hook).await;
    assert_eq!(deliveries.len(), 2);
    for d in &deliveries {
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
            (Some("delivered"), Some(1), Some(200))
        );
        let header = got.iter().find(|r| r.headers["x-dictaflow-delivery"] == d["id"].as_str().unwrap());
        assert!(header.is_some(), "the delivery id is sent in X-Dictaflow-Delivery");
    }
}

async fn failed_deliveries_are_retried_with_backoff_then_given_up(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let rx = Receiver::start(vec![500, 500]).await;
    let (_, hook) =
        t.create_webhook(&t.admin, json!({"url": rx.url, "secret": SECRET, "events": ["sla.breach"]})).await;
    let hook = hook["id"].as_str().unwrap().to_string();
    t.upload(&t.patel, "routine").await;
    t.advance(8 * DAY);
    t.fire().await;
    t.settle(&rx, &hook, 1).await;
    let d = &t.deliveries(&hook).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
        (Some("pending"), Some(1), Some(500))
    );

    // Backoff: 30 s after the first failure, then 60 s after the second.
    t.advance(29_000);
    t.settle(&rx, &hook, 1).await;
    t.advance(1_000);
    t.settle(&rx, &hook, 2).await;
    t.advance(59_000);
    t.settle(&rx, &hook, 2).await;
    t.advance(1_000);
    t.settle(&rx, &hook, 3).await;
    let d = &t.deliveries(&hook).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
        (Some("delivered"), Some(3), Some(200))
    );
    let got = rx.received();
    assert!(
        got.iter()
            .all(|r| r.body == got[0].body
                && r.headers["x-dictaflow-delivery"] == got[0].headers["x-dictaflow-delivery"])
    );

    // A receiver that never answers 2xx: given up after the configured attempts.
    let down = Receiver::start(vec![503; 100]).await;
    let (_, hook2) =
        t.create_webhook(&t.admin, json!({"url": down.url, "secret": SECRET, "events": ["sla.breach"]})).await;
    let hook2 = hook2["id"].as_str().unwrap().to_string();
    t.upload(&t.patel, "routine").await;
    t.advance(8 * DAY);
    t.fire().await;
    let max = t.app.state.config.webhooks.max_attempts as usize;
    for attempt in 1..=max {
        t.settle(&down, &hook2, attempt).await;
        t.advance(3_600_000);
    }
    t.settle(&down, &hook2, max).await;
    let d = &t.deliveries(&hook2).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
        (Some("failed"), Some(max as i64), Some(503))
    );
    assert_eq!(d["next_attempt_at"], Value::Null);
}

async fn a_verifying_receiver_accepts_deliveries_and_refuses_replays(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let rx = Receiver::verifying(t.app.state.clock.clone()).await;
    let (_, hook) =
        t.create_webhook(&t.admin, json!({"url": rx.url, "secret": SECRET, "events": ["sla.breach"]})).await;
    let hook = hook["id"].as_str().unwrap().to_string();
    t.upload(&t.patel, "routine").await;
    t.advance(8 * DAY);
    t.fire().await;
    t.settle(&rx, &hook, 1).await;
    let d = &t.deliveries(&hook).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
        (Some("delivered"), Some(1), Some(200)),
        "the receiver verified the signature over timestamp and body"
    );

    // An attacker who captured the request replays it ten minutes later: refused.
    let mut captured = rx.received().remove(0);
    captured.headers = sender_headers(&captured.headers);
    t.advance(10 * 60_000);
    let replay = |headers: HeaderMap| {
        let (url, body) = (rx.url.clone(), captured.body.clone());
        async move { reqwest::Client::new().post(url).headers(headers).body(body).send().await.unwrap().status() }
    };
    assert_eq!(replay(captured.headers.clone()).await, 401, "a stale timestamp is refused");
    // ... and with the timestamp header moved to now, the signature no longer matches.
    let mut fresh = captured.headers.clone();
    let now = (t.app.state.clock.now_ms() / 1000).to_string();
    fresh.insert("x-dictaflow-timestamp", now.parse().unwrap());
    assert_eq!(replay(fresh.clone()).await, 401, "the timestamp is covered by the signature");
    let now = t.app.state.clock.now_ms() / 1000;
    assert_eq!(check(&fresh, &captured.body, now), Err(Rejected::BadSignature));
    assert_eq!(check(&captured.headers, &captured.body, now), Err(Rejected::Stale));
}
