//! Process metrics in the Prometheus text format (`GET /metrics`).
//!
//! A small registry of counters and histograms keyed by label sets, updated by the HTTP
//! middleware and the transcription workers; gauges that describe the shared database
//! (queue depth, dictations by status, timers due) are read at scrape time so every
//! process of a scale-out deployment reports the same truth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// Upper bounds (seconds) of the latency histogram buckets.
const HTTP_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Upper bounds (seconds) for transcription processing time.
const STT_BUCKETS: &[f64] = &[1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0];

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), f64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

fn buckets_of(name: &str) -> &'static [f64] {
    if name.starts_with("dictaflow_transcription") { STT_BUCKETS } else { HTTP_BUCKETS }
}

/// Adds `value` to a counter.
pub fn count(name: &'static str, labels: &[(&'static str, &str)], value: f64) {
    let key = (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect());
    if let Ok(mut r) = REGISTRY.lock() {
        *r.counters.entry(key).or_default() += value;
    }
}

/// Records one observation in a histogram.
pub fn observe(name: &'static str, labels: &[(&'static str, &str)], value: f64) {
    let key = (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect());
    let bounds = buckets_of(name);
    if let Ok(mut r) = REGISTRY.lock() {
        let h = r
            .histograms
            .entry(key)
            .or_insert_with(|| Histogram { counts: vec![0; bounds.len()], ..Default::default() });
        for (i, b) in bounds.iter().enumerate() {
            if value <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += value;
        h.count += 1;
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn label_text(labels: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

fn help(name: &str) -> &'static str {
    match name {
        "http_requests_total" => "HTTP requests answered, by method, route and status",
        "http_request_duration_seconds" => "HTTP request latency, by method and route",
        "dictaflow_transcriptions_total" => "transcription jobs finished by this process, by outcome",
        "dictaflow_transcription_seconds" => "engine time per transcription",
        "dictaflow_transcribed_audio_seconds_total" => "seconds of audio transcribed by this process",
        "dictaflow_object_store_seconds" => "latency of object-store (S3) calls, by operation",
        "dictaflow_object_store_errors_total" => "object-store (S3) calls that failed, by operation",
        "dictaflow_audio_cache_reads_total" => {
            "audio range reads of a bucket's object, by result (hit: this node's cache)"
        }
        "dictaflow_audio_cache_fills_total" => "background downloads into this node's audio cache, by outcome",
        "dictaflow_audio_missing_at_start" => {
            "dictations whose audio this process could not see at start (left as they were)"
        }
        _ => "dictaflow metric",
    }
}

/// Renders the process-local counters and histograms.
pub fn render_registry(out: &mut String) {
    let Ok(r) = REGISTRY.lock() else { return };
    let mut last = "";
    for ((name, labels), value) in &r.counters {
        if *name != last {
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} counter", help(name));
            last = name;
        }
        let _ = writeln!(out, "{name}{} {value}", label_text(labels, None));
    }
    last = "";
    for ((name, labels), h) in &r.histograms {
        if *name != last {
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} histogram", help(name));
            last = name;
        }
        for (i, b) in buckets_of(name).iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{} {}", label_text(labels, Some(("le", b.to_string()))), h.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{} {}", label_text(labels, Some(("le", "+Inf".into()))), h.count);
        let _ = writeln!(out, "{name}_sum{} {}", label_text(labels, None), h.sum);
        let _ = writeln!(out, "{name}_count{} {}", label_text(labels, None), h.count);
    }
}

/// Appends one gauge family with its samples.
pub fn render_gauge(out: &mut String, name: &str, help: &str, samples: &[(Vec<(&'static str, String)>, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{} {value}", label_text(labels, None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_text_format() {
        count("http_requests_total", &[("method", "GET"), ("route", "/x\"y"), ("status", "200")], 1.0);
        count("http_requests_total", &[("method", "GET"), ("route", "/x\"y"), ("status", "200")], 1.0);
        observe("http_request_duration_seconds", &[("route", "/unit-test")], 0.02);
        observe("http_request_duration_seconds", &[("route", "/unit-test")], 3.0);
        let mut out = String::new();
        render_registry(&mut out);
        assert!(out.contains("# TYPE http_requests_total counter"), "{out}");
        assert!(out.contains(r#"http_requests_total{method="GET",route="/x\"y",status="200"} 2"#), "{out}");
        assert!(out.contains(r#"http_request_duration_seconds_bucket{route="/unit-test",le="0.025"} 1"#), "{out}");
        assert!(out.contains(r#"http_request_duration_seconds_bucket{route="/unit-test",le="5"} 2"#), "{out}");
        assert!(out.contains(r#"http_request_duration_seconds_bucket{route="/unit-test",le="+Inf"} 2"#), "{out}");
        assert!(out.contains(r#"http_request_duration_seconds_count{route="/unit-test"} 2"#), "{out}");
        let mut g = String::new();
        render_gauge(&mut g, "dictaflow_jobs", "jobs", &[(vec![("status", "queued".into())], 3.0)]);
        assert_eq!(g, "# HELP dictaflow_jobs jobs\n# TYPE dictaflow_jobs gauge\ndictaflow_jobs{status=\"queued\"} 3\n");
    }
}
