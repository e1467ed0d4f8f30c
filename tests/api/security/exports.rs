//! What leaves the server: audio and API answers are never cached, CSV export cannot
//! start rows or formulas, and a workflow file cannot nest without end.

use crate::helpers::{Backend, fixture};
use crate::workflow::support::team;

crate::both_backends!(patient_data_is_never_cached, csv_export_cannot_inject_rows_or_formulas, deep_yaml_is_refused);

async fn patient_data_is_never_cached(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let id = t.upload(&t.patel, "routine").await["id"].as_str().unwrap().to_string();
    for path in [format!("/api/v1/dictations/{id}/audio"), format!("/api/v1/dictations/{id}")] {
        let resp = t.app.client.get(t.app.url(&path)).bearer_auth(&t.patel).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
    }
    let resp = t
        .app
        .client
        .get(t.app.url(&format!("/api/v1/dictations/{id}/audio")))
        .bearer_auth(&t.patel)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

async fn csv_export_cannot_inject_rows_or_formulas(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let evil = "x\r=cmd|' /C calc'!A0";
    for specialty in [evil, "@SUM(1+1)", "ENT, Head and Neck"] {
        let fields = [("specialty", specialty)];
        let resp = t.app.upload(&t.patel, fixture("speech_3s.wav"), "a.wav", &fields).await;
        assert_eq!(resp.status(), 201);
    }
    let path = "/api/v1/reports/turnaround?from=2026-03-01&to=2026-03-31&group_by=specialty";
    let resp =
        t.app.client.get(t.app.url(path)).bearer_auth(&t.lead).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    // Whatever a reader takes for a line break, no line starts a formula.
    for line in csv.split(['\r', '\n']) {
        assert!(!line.starts_with(['=', '+', '-', '@']), "{line:?} in {csv:?}");
    }
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "one row per specialty: {csv:?}");
    assert!(rows.iter().all(|r| r.starts_with('"')), "text fields are quoted: {csv:?}");
    assert!(csv.contains("\"x =cmd|' /C calc'!A0\",1,"), "{csv:?}");
    assert!(csv.contains("\"'@SUM(1+1)\",1,"), "{csv:?}");
    assert!(csv.contains("\"ENT, Head and Neck\",1,"), "{csv:?}");
}

async fn deep_yaml_is_refused(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    // Block nesting (which the YAML scanner does not bound itself), and flow nesting
    // below the scanner's own limit of 255 levels.
    for yaml in ["- ".repeat(20_000) + "x", "[".repeat(200) + "x" + &"]".repeat(200)] {
        let (status, body) = t.put_yaml(&t.admin, "/api/v1/workflows/deep", &yaml).await;
        assert_eq!(status, 422, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("nested too deeply"), "{body}");
    }
    // The server is still there.
    let (status, _) = t.app.get_json(&t.admin, "/api/v1/workflows").await;
    assert_eq!(status, 200);
}
