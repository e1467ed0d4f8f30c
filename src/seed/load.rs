//! `dictaflow dev transitions` and `dev reads`: load clients for the server. `transitions`: Each secretary's
//! token lists their queue; `concurrency` workers then take distinct letters from those
//! lists and `claim` then `release` each (two transitions), putting it back for reuse,
//! until `pairs` pairs are done. A general HTTP load generator cannot do this: every
//! request depends on the previous one for the same letter.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

/// What the load client measured.
#[derive(Debug)]
pub struct LoadReport {
    pub transitions: usize,
    pub failures: usize,
    pub elapsed: Duration,
    /// Latency percentiles (p50, p90, p99, max) of one transition, in milliseconds.
    pub latency_ms: (f64, f64, f64, f64),
}

type Pool = Arc<Mutex<VecDeque<String>>>;

async fn queue_ids(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Vec<String>> {
    let resp = http.get(format!("{base}/api/v1/queue?limit=500")).bearer_auth(token).send().await?;
    anyhow::ensure!(resp.status().is_success(), "GET /api/v1/queue answered {}", resp.status());
    let body: Value = resp.json().await?;
    let items = body["items"].as_array().context("the queue has no items")?;
    Ok(items
        .iter()
        .filter(|d| d["assignee"].is_null() && d["stage"] == "queue")
        .filter_map(|d| d["id"].as_str().map(String::from))
        .collect())
}

/// Runs the load against `base` with the given secretaries' tokens.
pub async fn run(base: &str, tokens: &[String], concurrency: usize, pairs: usize) -> anyhow::Result<LoadReport> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let mut pools: Vec<(String, Pool)> = Vec::new();
    for token in tokens {
        let ids = queue_ids(&http, base, token).await?;
        anyhow::ensure!(!ids.is_empty(), "a secretary's queue has no unclaimed letter in the `queue` stage");
        pools.push((token.clone(), Arc::new(Mutex::new(ids.into()))));
    }
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(pairs));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (token, pool) = pools[w % pools.len()].clone();
        let (http, base, remaining) = (http.clone(), base.to_string(), remaining.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            while remaining
                .fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| {
                    n.checked_sub(1)
                })
                .is_ok()
            {
                let Some(id) = pool.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                for action in ["claim", "release"] {
                    let t = Instant::now();
                    let url = format!("{base}/api/v1/dictations/{id}/actions/{action}");
                    let ok = match http.post(url).bearer_auth(&token).json(&serde_json::json!({})).send().await {
                        Ok(r) => r.status().is_success(),
                        Err(_) => false,
                    };
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    failures += usize::from(!ok);
                }
                pool.lock().unwrap_or_else(|e| e.into_inner()).push_back(id);
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for w in workers {
        let (l, f) = w.await?;
        all.extend(l);
        failures += f;
    }
    Ok(summary(all, failures, started.elapsed()))
}

/// The report of `latencies` (one per request, in milliseconds).
fn summary(mut latencies: Vec<f64>, failures: usize, elapsed: Duration) -> LoadReport {
    latencies.sort_by(f64::total_cmp);
    let all = &latencies;
    let pct = |p: f64| all.get(((all.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    LoadReport {
        transitions: all.len(),
        failures,
        elapsed,
        latency_ms: (pct(0.5), pct(0.9), pct(0.99), all.last().copied().unwrap_or(0.0)),
    }
}

/// `dictaflow dev reads`: `concurrency` clients each sending `GET path` with `token`,
/// one request after the other, for `duration` (a closed loop, as `oha -c N -z T` does).
/// `transitions` in the report counts the requests.
pub async fn reads(
    base: &str,
    token: &str,
    path: &str,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LoadReport> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let url = format!("{base}{path}");
    let first = http.get(&url).bearer_auth(token).send().await?;
    anyhow::ensure!(first.status().is_success(), "GET {path} answered {}", first.status());
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, url, token) = (http.clone(), url.clone(), token.to_string());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut failures) = (Vec::new(), 0);
            while started.elapsed() < duration {
                let t = Instant::now();
                let ok = match http.get(&url).bearer_auth(&token).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                failures += usize::from(!ok);
            }
            (latencies, failures)
        }));
    }
    let (mut all, mut failures) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await?;
        all.extend(l);
        failures += f;
    }
    Ok(summary(all, failures, started.elapsed()))
}
