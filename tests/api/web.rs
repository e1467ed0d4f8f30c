//! The browser face over HTTP: role-aware landing, the application shell with its security
//! headers, embedded assets with ETags, and the letter exports (DOCX and PDF).

use std::io::Read;

use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn landing_and_assets(app: TestApp) {
    let client = no_redirects();
    let resp = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/app/login");
    for (name, role, home) in [
        ("dr.patel", Role::Clinician, "/app/dictations"),
        ("sec.jones", Role::Secretary, "/app/queue"),
        ("lead.smith", Role::TeamLead, "/app/board"),
        ("admin", Role::Superuser, "/app/workflows"),
    ] {
        let token = app.user(name, role, &["ent"]).await;
        let resp = client.get(app.url("/")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{name}");
        assert_eq!(resp.headers()["location"], home, "{name}");
    }
    // A session cookie from login works the same way.
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "sec.jones", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let resp = client.get(app.url("/")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(resp.headers()["location"], "/app/queue");

    // Every client-side route gets the shell, under a strict CSP.
    for path in ["/app/login", "/app/queue", "/app/dictations/abc", "/app/workflows/clinic-letter"] {
        let resp = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.starts_with("default-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(r#"<script type="module" src="/assets/js/main.js">"#));
        assert!(!body.contains("onclick") && !body.contains("<script>"), "no inline script");
    }

    let resp = client.get(app.url("/assets/js/main.js")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(resp.text().await.unwrap().contains("import"));
    let resp = client.get(app.url("/assets/js/main.js")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = client.get(app.url("/assets/app.css")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(resp.status(), 200, "another file's ETag does not match");
    assert_eq!(resp.headers()["content-type"], "text/css; charset=utf-8");
    let resp = client.get(app.url("/assets/js/nope.js")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "not_found");
    let resp = client.get(app.url("/assets/../Cargo.toml")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

const PATIENT: &[(&str, &str)] = &[
    ("patient_nhs_number", "9434765919"),
    ("patient_name", "Ada Lovelace"),
    ("patient_dob", "1961-04-02"),
    ("specialty", "ENT"),
    ("letter_type", "clinic_letter"),
];

const TEXT: &str = "Dear Dr Babbage,\n\nDiagnoses:\nOtitis media (left).\n\nPlan:\nReview in 6 weeks & audiology.";

async fn letters_export_as_docx_and_pdf(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let other = app.user("dr.jones", Role::Clinician, &["cardio"]).await;
    let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", PATIENT).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/dictations/{id}/draft")))
        .bearer_auth(&token)
        .json(&json!({"text": TEXT, "base_version": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let resp =
        app.client.get(app.url(&format!("/api/v1/dictations/{id}/letter.docx"))).bearer_auth(&token).send().await;
    let resp = resp.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let disposition = resp.headers()["content-disposition"].to_str().unwrap().to_string();
    assert_eq!(disposition, format!("attachment; filename=\"letter-{id}.docx\""), "no patient data in the name");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let bytes = resp.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
    for want in ["Ada Lovelace", "943 476 5919", "2 April 1961", "ENT", "Dear Dr Babbage,", ">Plan<"] {
        assert!(xml.contains(want), "{want} in {xml}");
    }
    assert!(xml.contains("Review in 6 weeks &amp; audiology."));
    assert!(xml.contains("Draft: not yet approved by the clinician"), "not approved yet");

    let resp = app.client.get(app.url(&format!("/api/v1/dictations/{id}/letter.pdf"))).bearer_auth(&token).send().await;
    let resp = resp.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-") && pdf.trim_ascii_end().ends_with(b"%%EOF"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("l.pdf"), &pdf).unwrap();
    if let Some(text) = crate::letters::pdf_text(&dir.path().join("l.pdf")) {
        for want in ["Re: Ada Lovelace", "NHS number: 943 476 5919", "Plan", "Otitis media (left).", "Dear Dr Babbage,"]
        {
            assert!(text.contains(want), "{want} in {text}");
        }
    }

    for ext in ["docx", "pdf"] {
        let url = app.url(&format!("/api/v1/dictations/{id}/letter.{ext}"));
        assert_eq!(app.client.get(&url).bearer_auth(&other).send().await.unwrap().status(), 404, "out of scope");
        let resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 401);
    }
    let missing = app.client.get(app.url("/api/v1/dictations/nope/letter.pdf")).bearer_auth(&token).send().await;
    assert_eq!(missing.unwrap().status(), 404);
    // Both exports are on the audit trail; the refused ones are not.
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let (_, audit) = app.get_json(&admin, "/api/v1/audit?action=letter.export").await;
    let formats: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|e| e["details"]["format"].as_str().unwrap()).collect();
    assert_eq!(formats.len(), 2, "{audit}");
    assert!(formats.contains(&"docx") && formats.contains(&"pdf"), "{audit}");
}

crate::on_both_backends!(landing_and_assets, letters_export_as_docx_and_pdf);
