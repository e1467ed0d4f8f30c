//! Letters that leave the building: templates, letterhead with logo, the patient's and
//! recipients' details, the signature block and the electronic approval, in PDF (read back
//! with poppler's pdftotext and rendered to an image with pdftoppm), DOCX (its XML) and a
//! FHIR document Bundle validated with the PyPI `fhir.resources` models.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use dictaflow::clock::Clock;
use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, fixture, spawn_app_clocked};
use crate::workflow::support::{MONDAY_10AM, Team, team, team_with};
use crate::workflow::webhooks::{Receiver, SECRET};

crate::both_backends!(
    a_letter_in_pdf_docx_and_fhir,
    details_are_checked_and_required_before_approval,
    templates_are_checked_previewed_and_audited,
    hospital_numbers_follow_the_configured_pattern,
    dispatched_letters_reach_the_inbox_folder_and_webhooks,
);

/// Names in Polish, Vietnamese, Greek and Welsh.
const PATIENT: &str = "Łukasz Nguyễn-Ōtsuka";
const GREEK: &str = "Dr Γεώργιος Παπαδόπουλος";
const WELSH_HOUSE: &str = "Tŷ Gwyn";
const WELSH_PRACTICE: &str = "Meddygfa Ŵyn";
const TEXT: &str = "Dear Dr Evans,\n\nDiagnoses:\nOtitis media (left).\n\nPlan:\nReview in 6 weeks & audiology.";

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn put_json(t: &Team, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(t.app.client.put(t.app.url(path)).bearer_auth(token).json(&body)).await
}

async fn bytes(app: &TestApp, token: &str, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    (resp.headers().clone(), resp.bytes().await.unwrap().to_vec())
}

/// Claims, types `text`, submits; returns the dictation's id (awaiting the clinician).
async fn typed(t: &Team, id: &str, text: &str) {
    t.ok(&t.jones, id, "claim", json!({})).await;
    let url = t.app.url(&format!("/api/v1/dictations/{id}/draft"));
    let resp = t.app.client.put(url).bearer_auth(&t.jones).json(&json!({"text": text, "base_version": 1})).send();
    assert_eq!(resp.await.unwrap().status(), 200);
    t.ok(&t.jones, id, "submit", json!({})).await;
}

/// A poppler tool, or `None` (with the reason printed) unless `DICTAFLOW_TEST_REQUIRE_POPPLER=1`.
fn poppler(tool: &str) -> Option<&str> {
    if Command::new(tool).arg("-v").output().is_ok() {
        return Some(tool);
    }
    if std::env::var("DICTAFLOW_TEST_REQUIRE_POPPLER").is_ok_and(|v| v == "1") {
        panic!("{tool} (Debian poppler-utils) is required (DICTAFLOW_TEST_REQUIRE_POPPLER=1)");
    }
    eprintln!("skipping the PDF checks: {tool} (poppler-utils) is not installed");
    None
}

/// The PDF's text by pdftotext, whitespace runs as single spaces.
pub fn pdf_text(pdf: &Path) -> Option<String> {
    let tool = poppler("pdftotext")?;
    let out = Command::new(tool).args(["-layout", "-enc", "UTF-8"]).arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Pixels of the first page rendered by pdftoppm (binary PPM): (width, height, RGB bytes).
fn pdf_image(pdf: &Path) -> Option<(usize, usize, Vec<u8>)> {
    let tool = poppler("pdftoppm")?;
    let out = Command::new(tool).args(["-r", "40", "-f", "1", "-l", "1"]).arg(pdf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ppm = out.stdout;
    // "P6\n<w> <h>\n255\n" then the pixels.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8(ppm[start..pos].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P6");
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    Some((w, h, ppm[pos + 1..].to_vec()))
}

async fn a_letter_in_pdf_docx_and_fhir(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    // The super-user: the clinician's signature fields, the letterhead and its logo.
    let patch = json!({"display_name": "Dr Ann Patel", "grade": "Consultant", "job_title": "Consultant ENT Surgeon"});
    let (status, user) =
        send(t.app.client.patch(t.app.url("/api/v1/users/dr.patel")).bearer_auth(&t.admin).json(&patch)).await;
    assert_eq!(
        (status, user["grade"].as_str(), user["job_title"].as_str()),
        (200, Some("Consultant"), Some("Consultant ENT Surgeon"))
    );
    let head = json!({"organisation": "Riverside University Hospitals NHS Trust",
        "address": "Ear, Nose and Throat Department\nRiverside Road\nCardiff CF10 3XX", "phone": "029 2000 0000"});
    assert_eq!(put_json(&t, &t.admin, "/api/v1/letterhead", head).await.0, 200);
    let logo = t.app.client.put(t.app.url("/api/v1/letterhead/logo")).bearer_auth(&t.admin);
    let (status, body) = send(logo.body(fixture("letterhead_logo.png"))).await;
    assert_eq!(
        (status, body["logo_width"].as_i64(), body["logo_height"].as_i64()),
        (200, Some(120), Some(40)),
        "{body}"
    );
    let bad = t.app.client.put(t.app.url("/api/v1/letterhead/logo")).bearer_auth(&t.admin).body("GIF89a not a png");
    let (status, body) = send(bad).await;
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (422, Some("invalid_image"), Some("logo")));

    // The dictation with its patient and recipients.
    let fields = [
        ("specialty", "ENT"),
        ("letter_type", "clinic_letter"),
        ("patient_name", PATIENT),
        ("patient_nhs_number", "943 476 5919"),
        ("patient_dob", "1961-04-02"),
        ("hospital_number", "RVX1234567"),
        ("patient_address", &format!("{WELSH_HOUSE}\n1 Heol y Frenhines\nCaerdydd CF10 1AA")),
        ("gp_practice_name", WELSH_PRACTICE),
        ("gp_ods_code", "w97001"),
        ("gp_address", "2 Stryd Fawr\nCaerdydd CF11 9XX"),
        ("cc_patient", "true"),
        ("cc_others", &format!("{GREEK}, Cardiology")),
    ];
    let resp = t.app.upload(&t.patel, fixture("speech_3s.wav"), "a.wav", &fields).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    t.recognise(&id).await;
    typed(&t, &id, TEXT).await;
    t.ok(&t.patel, &id, "approve", json!({})).await;

    // PDF: its text read back, and the first page rendered.
    let (headers, pdf) = bytes(&t.app, &t.jones, &format!("/api/v1/dictations/{id}/letter.pdf")).await;
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("letter.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let approved = "Electronically approved by Dr Ann Patel, Consultant on 2 March 2026";
    let wanted = [
        "Riverside University Hospitals NHS Trust",
        "Tel: 029 2000 0000",
        "The General Practitioner",
        WELSH_PRACTICE,
        "2 Stryd Fawr",
        "Re: Łukasz Nguyễn-Ōtsuka",
        "Date of birth: 2 April 1961",
        "NHS number: 943 476 5919",
        "Hospital number: RVX1234567",
        WELSH_HOUSE,
        "Otitis media (left).",
        "Review in 6 weeks & audiology.",
        "Yours sincerely,",
        "Dr Ann Patel Consultant Consultant ENT Surgeon ENT",
        approved,
        GREEK,
        "2 March 2026",
    ];
    if let Some(text) = pdf_text(&file) {
        for want in wanted {
            assert!(text.contains(want), "{want:?} in the PDF text: {text}");
        }
        assert!(!text.contains('?'), "no character was replaced: {text}");
    }
    if let Some((w, h, pixels)) = pdf_image(&file) {
        assert!(w.abs_diff(331) <= 1 && h.abs_diff(468) <= 1, "A4 at 40 dpi: {w}x{h}");
        // The logo's blue (0, 94, 184) is on the page, at the top right.
        let blue = pixels.chunks(3).enumerate().filter(|(_, p)| p[0] < 30 && (80..110).contains(&p[1]) && p[2] > 160);
        let (first, count) = blue.fold((None, 0), |(f, n), (i, _)| (f.or(Some(i)), n + 1));
        assert!(count > 50, "the logo is drawn ({count} blue pixels)");
        let first = first.unwrap();
        assert!(first % w > w / 2 && first / w < h / 6, "at the top right: pixel {first}");
    }

    // DOCX: the same letter in its XML, with the logo.
    let (_, docx) = bytes(&t.app, &t.jones, &format!("/api/v1/dictations/{id}/letter.docx")).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
    let escaped = |s: &str| s.replace('&', "&amp;");
    for want in wanted.iter().filter(|w| !w.contains(':') && !w.contains("Consultant Consultant")) {
        assert!(xml.contains(&escaped(want)), "{want:?} in the DOCX");
    }
    for want in [PATIENT, "943 476 5919", "2 April 1961", approved, "Consultant ENT Surgeon", "<w:drawing>"] {
        assert!(xml.contains(want), "{want:?} in the DOCX");
    }
    assert!((0..zip.len()).any(|i| zip.by_index(i).unwrap().name().unwrap().starts_with("word/media/")), "the logo");

    // FHIR: a document Bundle the R4 models accept, with what the letter says.
    let (headers, body) = bytes(&t.app, &t.jones, &format!("/api/v1/dictations/{id}/letter.fhir.json")).await;
    assert_eq!(headers["content-type"], "application/fhir+json");
    let bundle: Value = serde_json::from_slice(&body).unwrap();
    let entries = bundle["entry"].as_array().unwrap();
    let gp = entries.iter().find(|e| e["resource"]["name"] == WELSH_PRACTICE).expect("the GP practice");
    assert_eq!(
        gp["resource"]["identifier"][0],
        json!({"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "W97001"})
    );
    let binary = entries.iter().find(|e| e["resource"]["resourceType"] == "Binary").unwrap();
    assert_eq!(binary["resource"]["contentType"], "application/pdf");
    let Some(python) = crate::helpers::venv_python(
        "fhir-venv",
        "fhir.resources.R4B",
        "fhir.resources>=8.1,<9",
        "DICTAFLOW_TEST_REQUIRE_PYTHON",
    ) else {
        return;
    };
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, &body).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fhir/validate.py");
    let out = Command::new(python).arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "the FHIR models refused the Bundle:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["type"], "document");
    assert_eq!(seen["types"][0], "Composition", "{seen}");
    for kind in ["Patient", "Practitioner", "Organization", "DocumentReference", "Binary"] {
        assert!(seen["types"].as_array().unwrap().iter().any(|t| t == kind), "{kind} in {seen}");
    }
    assert_eq!(seen["composition_status"], "final");
    assert_eq!(seen["nhs_numbers"], json!(["9434765919"]));
    assert_eq!(seen["attester"], json!(["Dr Ann Patel, Consultant"]));
    assert!(seen["sections"]["Plan"].as_str().unwrap().contains("Review in 6 weeks &amp; audiology."), "{seen}");
    assert!(seen["sections"]["Diagnoses"].as_str().unwrap().contains("Otitis media (left)."), "{seen}");
}

async fn details_are_checked_and_required_before_approval(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let bad = [("specialty", "ENT"), ("gp_ods_code", "A8-1001")];
    let resp = t.app.upload(&t.patel, fixture("speech_3s.wav"), "a.wav", &bad).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("invalid_ods_code"), Some("gp_ods_code")));

    // ENT's clinic letters need the GP's ODS code and the hospital number before approval.
    let template = format!(
        "@require gp_ods_code, hospital_number\n{}",
        dictaflow::letters::template::shipped(Some("clinic_letter"))
    );
    let url = t.app.url("/api/v1/letter-templates/clinic_letter?department=ENT");
    let (status, body) = send(t.app.client.put(url).bearer_auth(&t.admin).body(template)).await;
    assert_eq!(status, 200, "{body}");
    let id = t.drafted(&t.patel, "routine").await;
    typed(&t, &id, TEXT).await;
    let (status, body) = t.act(&t.patel, &id, "approve", json!({})).await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("letter_details_missing"), Some("gp_ods_code"))
    );
    assert!(body["detail"].as_str().unwrap().contains("gp_ods_code, hospital_number"), "{body}");
    assert_eq!(t.get(&t.patel, &id).await["status"], "awaiting_review", "not approved");

    let path = format!("/api/v1/dictations/{id}/letter-details");
    let (status, body) = put_json(&t, &t.jones, &path, json!({"gp_ods_code": "A81001", "addressee": "nurse"})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("addressee")));
    let (status, body) = put_json(&t, &t.jones, &path, json!({"gp_odscode": "A81001"})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "unknown fields are refused");
    let details = json!({"gp_practice_name": "Bridge Surgery", "gp_ods_code": "a81001", "hospital_number": "H42"});
    let (status, body) = put_json(&t, &t.jones, &path, details).await;
    assert_eq!((status, body["gp_ods_code"].as_str()), (200, Some("A81001")), "{body}");
    assert_eq!(t.get(&t.patel, &id).await["patient"]["hospital_number"], "H42");
    let (status, body) = t.app.get_json(&t.patel, &path).await;
    assert_eq!(
        (status, body["gp_practice_name"].as_str(), body["addressee"].as_str()),
        (200, Some("Bridge Surgery"), Some("gp"))
    );
    assert_eq!(t.app.get_json(&t.cardio, &path).await.0, 404, "out of scope");
    t.ok(&t.patel, &id, "approve", json!({})).await;

    // Approved, the letter's details no longer change.
    let (status, body) = put_json(&t, &t.jones, &path, json!({"gp_ods_code": "B82002"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("letter_locked")));
    let (_, audit) = t.app.get_json(&t.admin, "/api/v1/audit?action=dictation.letter_details").await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["details"]["details"]["gp_ods_code"], "A81001");
}

async fn templates_are_checked_previewed_and_audited(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let url = t.app.url("/api/v1/letter-templates/mdt_outcome");
    let (status, _) = send(t.app.client.put(&url).bearer_auth(&t.patel).body("{{body}}")).await;
    assert_eq!(status, 403);
    let (status, body) =
        send(t.app.client.put(&url).bearer_auth(&t.admin).body("@title MDT\nDear {{patient_nmae}}\n")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")));
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["line"] == 2 && e["message"].as_str().unwrap().contains("unknown field")),
        "{body}"
    );
    assert!(errors.iter().any(|e| e["message"].as_str().unwrap().contains("{{body}} must appear once")), "{body}");

    let text = "@title MDT outcome\n{{re}}\n\n## Outcome for {{patient_name}}\n{{body}}\n\n{{signature}}";
    let (status, body) = send(t.app.client.put(&url).bearer_auth(&t.admin).json(&json!({"body": text}))).await;
    assert_eq!((status, body["source"].as_str()), (200, Some("custom")), "{body}");
    let (_, got) = t.app.get_json(&t.patel, "/api/v1/letter-templates/mdt_outcome?department=Cardiology").await;
    assert_eq!((got["source"].as_str(), got["body"].as_str()), (Some("custom"), Some(text)), "trust-wide");
    let (_, shipped) = t.app.get_json(&t.patel, "/api/v1/letter-templates/discharge_summary").await;
    assert_eq!(shipped["source"], "shipped");
    let (_, audit) = t.app.get_json(&t.admin, "/api/v1/audit?action=admin.letter_template_put").await;
    assert_eq!(audit["items"][0]["details"]["after"], text, "{audit}");

    // The preview lays out a real letter with the edited template.
    let id = t.drafted(&t.patel, "routine").await;
    let fields = json!({"body": format!("{text}\n{{{{approval}}}}"), "dictation_id": id});
    let req = t.app.client.post(t.app.url("/api/v1/letter-templates/preview")).bearer_auth(&t.admin).json(&fields);
    let (status, letter) = send(req).await;
    assert_eq!(status, 200, "{letter}");
    assert_eq!(letter["title"], "MDT outcome");
    let blocks = letter["blocks"].as_array().unwrap();
    assert!(blocks.iter().any(|b| b["kind"] == "paragraph" && b["text"] == "Dear Dr Smith, thank you."), "{letter}");
    assert!(blocks.iter().any(|b| b["text"] == "Draft: not yet approved by the clinician"), "{letter}");
    assert!(!blocks.iter().any(|b| b["kind"] == "heading"), "no patient name, no heading: {letter}");
    let bad = json!({"body": "{{body}}\n{{nope}}", "dictation_id": id});
    let req = t.app.client.post(t.app.url("/api/v1/letter-templates/preview")).bearer_auth(&t.admin).json(&bad);
    assert_eq!(send(req).await.0, 422);
}

async fn hospital_numbers_follow_the_configured_pattern(backend: Backend) {
    let clock = Clock::manual(dictaflow::clock::parse_rfc3339(MONDAY_10AM).unwrap());
    let tweak = |c: &mut dictaflow::config::Config| c.letters.hospital_number_pattern = "RVX[0-9]{7}".into();
    let Some(app) = spawn_app_clocked(backend, clock, tweak).await else { return };
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", &[("hospital_number", "RVX123")]).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_hospital_number"), Some("hospital_number"))
    );
    let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", &[("hospital_number", "RVX1234567")]).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/api/v1/dictations/{id}/letter-details"));
    let resp = app.client.put(url).bearer_auth(&token).json(&json!({"hospital_number": "12"})).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "invalid_hospital_number");
}

async fn dispatched_letters_reach_the_inbox_folder_and_webhooks(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("epr-inbox");
    let folder = inbox.to_string_lossy().into_owned();
    let Some(t) = team_with(backend, |c| c.letters.dispatch_dir = folder).await else { return };
    let rx = Receiver::start(vec![]).await;
    let hook = json!({"url": rx.url, "secret": SECRET, "events": ["letter.dispatched"]});
    let (status, hook) = t.create_webhook(&t.admin, hook).await;
    assert_eq!(status, 201, "{hook}");
    let hook = hook["id"].as_str().unwrap().to_string();
    let fields = [("specialty", "ENT"), ("letter_type", "clinic_letter"), ("patient_nhs_number", "9434765919")];
    let resp = t.app.upload(&t.patel, fixture("speech_3s.wav"), "a.wav", &fields).await;
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    t.recognise(&id).await;
    typed(&t, &id, TEXT).await;
    t.ok(&t.patel, &id, "approve", json!({})).await;
    t.ok(&t.jones, &id, "dispatch", json!({})).await;

    // The inbox folder is missing: the attempt fails, is audited and retried later.
    let first = delivery_settles(&t, &id, "pending", 1).await;
    assert!(first["last_error"].as_str().unwrap().contains("No such file"), "{first}");
    std::fs::create_dir(&inbox).unwrap();
    t.advance(31_000);
    delivery_settles(&t, &id, "done", 2).await;

    // In the folder: the PDF and the FHIR Bundle, whole, and nothing else.
    let mut names: Vec<String> =
        std::fs::read_dir(&inbox).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, vec![format!("letter-{id}.fhir.json"), format!("letter-{id}.pdf")]);
    assert!(std::fs::read(inbox.join(format!("letter-{id}.pdf"))).unwrap().starts_with(b"%PDF-"));
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(inbox.join(format!("letter-{id}.fhir.json"))).unwrap()).unwrap();
    assert_eq!(
        (bundle["type"].as_str(), bundle["entry"][0]["resource"]["resourceType"].as_str()),
        (Some("document"), Some("Composition"))
    );

    // The webhook: the Bundle attached, signed like every delivery.
    t.settle(&rx, &hook, 1).await;
    let got = rx.received();
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["event"], "letter.dispatched");
    assert_eq!(body["dictation"]["id"], id.as_str());
    assert_eq!(body["document"]["entry"][0]["resource"]["status"], "final");
    assert!(got[0].headers.contains_key("x-dictaflow-signature"));

    let (_, audit) = t.app.get_json(&t.admin, "/api/v1/audit?action=letter.delivery").await;
    let statuses: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|e| e["details"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.len(), 2, "{audit}");
    assert!(statuses.contains(&"retrying") && statuses.contains(&"done"), "{audit}");
    let s = &t.app.state;
    let cfg = dictaflow::letters::dispatch::Delivering::from(&*s.config);
    assert_eq!(dictaflow::letters::dispatch::deliver_due(&s.db, &s.clock, &cfg).await.unwrap(), 0, "delivered once");
}

/// Delivers what is due (this test's pass, or the server's own worker) until the letter's
/// delivery has `status` after `attempts`; returns it.
async fn delivery_settles(t: &Team, id: &str, status: &str, attempts: i64) -> Value {
    let s = &t.app.state;
    let cfg = dictaflow::letters::dispatch::Delivering::from(&*s.config);
    let mut last = Value::Null;
    for _ in 0..100 {
        dictaflow::letters::dispatch::deliver_due(&s.db, &s.clock, &cfg).await.unwrap();
        let (_, list) = t.app.get_json(&t.jones, &format!("/api/v1/dictations/{id}/deliveries")).await;
        last = list["items"][0].clone();
        // A pending delivery mid-attempt has no error yet: wait for the attempt's end.
        if last["status"] == status
            && last["attempts"] == attempts
            && (status != "pending" || last["last_error"].is_string())
        {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the delivery did not reach {status} after {attempts} attempt(s): {last}");
}
