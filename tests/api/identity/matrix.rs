//! The permission matrix: every endpoint x every role (and anonymous) x a resource in
//! the caller's scope and one outside it. The ENT clinician, secretary and team lead
//! see ENT letters, and so does the manager assigned to ENT (reading only); the cardiology letter is outside their scope (404, its existence
//! not revealed); the super-user sees everything.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use super::support::app;
use crate::helpers::{Backend, TestApp, fixture};

/// What a caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum E {
    /// Allowed: any answer but 401, 403 or 404 (the request itself may be refused on
    /// its merits, e.g. 409 or 422, after the access check passed).
    Ok,
    /// 403: the role may not do this.
    No,
    /// 404: outside the caller's scope.
    Hidden,
    /// An exact status.
    Is(u16),
}

enum Body {
    None,
    Json(Value),
    Yaml(&'static str),
    Upload(&'static str),
}

/// Placeholders: `{d}` dictation id, `{clin}` clinician, `{sec}` secretary (in or out of scope).
struct Row {
    method: &'static str,
    path: &'static str,
    body: Body,
    /// clinician, secretary, team_lead, manager, superuser.
    inside: [E; 5],
    /// `None`: the endpoint names no resource with a scope.
    outside: Option<[E; 5]>,
}

const ALL: [E; 5] = [E::Ok; 5];
const SUPER: [E; 5] = [E::No, E::No, E::No, E::No, E::Ok];
const LEADS: [E; 5] = [E::No, E::No, E::Ok, E::No, E::Ok];
/// Team leads, managers and super-users (reports and oversight).
const OVERSEERS: [E; 5] = [E::No, E::No, E::Ok, E::Ok, E::Ok];
/// Everyone who works on letters: not the read-only manager.
const WORKERS: [E; 5] = [E::Ok, E::Ok, E::Ok, E::No, E::Ok];
/// Audio and letter downloads: the letter's people, not the manager.
const DOWNLOAD: [E; 5] = [E::Is(200), E::Is(200), E::Is(200), E::No, E::Is(200)];
const HIDDEN: [E; 5] = [E::Hidden, E::Hidden, E::Hidden, E::Hidden, E::Ok];

fn row(method: &'static str, path: &'static str, body: Body, inside: [E; 5], outside: Option<[E; 5]>) -> Row {
    Row { method, path, body, inside, outside }
}

fn rows() -> Vec<Row> {
    use Body::{Json, None as Empty, Upload, Yaml};
    let draft = || Json(json!({"text": "Dear Dr Smith,", "base_version": 1}));
    let absence = || Json(json!({"user": "{sec}", "from": "2026-03-03T00:00:00Z", "to": "2026-03-04T00:00:00Z"}));
    vec![
        // Dictations and their audio, history, draft and actions.
        row("GET", "/api/v1/dictations", Empty, ALL, None),
        row("POST", "/api/v1/dictations", Upload("{clin}"), WORKERS, Some([E::No, E::No, E::No, E::No, E::Is(201)])),
        row("GET", "/api/v1/dictations/{d}", Empty, ALL, Some(HIDDEN)),
        row("GET", "/api/v1/dictations/{d}/audio", Empty, DOWNLOAD, Some(HIDDEN)),
        row("GET", "/api/v1/dictations/{d}/history", Empty, ALL, Some(HIDDEN)),
        row("GET", "/api/v1/dictations/{d}/letter.docx", Empty, DOWNLOAD, Some(HIDDEN)),
        row("GET", "/api/v1/dictations/{d}/letter.pdf", Empty, DOWNLOAD, Some(HIDDEN)),
        row("GET", "/api/v1/dictations/{d}/letter.fhir.json", Empty, DOWNLOAD, Some(HIDDEN)),
        row("GET", "/api/v1/dictations/{d}/letter-details", Empty, [E::Is(200); 5], Some(HIDDEN)),
        // The manager reads; only the letter's people change its details.
        row(
            "PUT",
            "/api/v1/dictations/{d}/letter-details",
            Json(json!({"gp_ods_code": "?"})),
            [E::Is(422), E::Is(422), E::Is(422), E::No, E::Is(422)],
            Some(HIDDEN),
        ),
        // A secretary who does not hold the letter may not edit it; the clinician and leads may.
        row("PUT", "/api/v1/dictations/{d}/draft", draft(), [E::Ok, E::No, E::Ok, E::No, E::Ok], Some(HIDDEN)),
        row("POST", "/api/v1/dictations/{d}/actions/frobnicate", Json(json!({})), WORKERS, Some(HIDDEN)),
        // The caller's own work.
        row("GET", "/api/v1/queue", Empty, ALL, None),
        row("GET", "/api/v1/notifications", Empty, ALL, None),
        row("POST", "/api/v1/notifications/read", Empty, ALL, None),
        row("POST", "/api/v1/absences", absence(), LEADS, Some([E::No, E::No, E::Is(422), E::No, E::Ok])),
        row("GET", "/api/v1/reports/turnaround", Empty, OVERSEERS, None),
        // Definitions: everyone reads, super-users change.
        row("GET", "/api/v1/workflows", Empty, ALL, None),
        row("GET", "/api/v1/workflows/clinic-letter", Empty, ALL, None),
        row("GET", "/api/v1/workflows/clinic-letter/versions", Empty, ALL, None),
        row("PUT", "/api/v1/workflows/clinic-letter", Yaml("name: [unfinished"), SUPER, None),
        row("POST", "/api/v1/workflows/clinic-letter/validate", Yaml("name: [unfinished"), SUPER, None),
        row("GET", "/api/v1/routing", Empty, ALL, None),
        row("PUT", "/api/v1/routing", Yaml("rules: [unfinished"), SUPER, None),
        row("POST", "/api/v1/routing/validate", Yaml("rules: [unfinished"), SUPER, None),
        row("GET", "/api/v1/letter-templates", Empty, ALL, None),
        row("GET", "/api/v1/letter-templates/clinic_letter", Empty, ALL, None),
        row("PUT", "/api/v1/letter-templates/clinic_letter", Json(json!({"body": "no body field"})), SUPER, None),
        row(
            "POST",
            "/api/v1/letter-templates/preview",
            Json(json!({"dictation_id": "nope"})),
            [E::No, E::No, E::No, E::No, E::Is(404)],
            None,
        ),
        row("GET", "/api/v1/letterhead", Empty, ALL, None),
        row("PUT", "/api/v1/letterhead", Json(json!({"phone": "x".repeat(60)})), SUPER, None),
        row("DELETE", "/api/v1/letterhead/logo", Empty, SUPER, None),
        row("GET", "/api/v1/vocabularies", Empty, ALL, None),
        row("PUT", "/api/v1/vocabularies/global", Json(json!({"terms": ["otitis"]})), SUPER, None),
        row(
            "PUT",
            "/api/v1/vocabularies/clinician:{clin}",
            Json(json!({"terms": ["tympanoplasty"]})),
            [E::Ok, E::No, E::No, E::No, E::Ok],
            Some(SUPER),
        ),
        // Administration.
        row("GET", "/api/v1/users", Empty, SUPER, None),
        row("POST", "/api/v1/users", Json(json!({"username": "Not Valid", "role": "clinician"})), SUPER, None),
        row("GET", "/api/v1/users/{clin}", Empty, SUPER, Some(SUPER)),
        row("PATCH", "/api/v1/users/{clin}", Json(json!({})), SUPER, Some(SUPER)),
        row("POST", "/api/v1/users/{clin}/password", Json(json!({"password": "x"})), SUPER, Some(SUPER)),
        // No binding to remove: 404 once the access check passed.
        row("DELETE", "/api/v1/users/{clin}/oidc", Empty, [E::No, E::No, E::No, E::No, E::Is(404)], None),
        row("GET", "/api/v1/teams", Empty, SUPER, None),
        row("POST", "/api/v1/teams", Json(json!({"name": "ent"})), SUPER, None),
        // Into cardiology: adding dr.cardio to ENT would bring the cardiology letter into ENT scope.
        row("POST", "/api/v1/teams/cardio/members", Json(json!({"user": "{clin}"})), SUPER, Some(SUPER)),
        row("DELETE", "/api/v1/teams/ent/members/nobody", Empty, [E::No, E::No, E::No, E::No, E::Hidden], None),
        row("GET", "/api/v1/audit", Empty, SUPER, None),
        row("GET", "/api/v1/webhooks", Empty, SUPER, None),
        row("POST", "/api/v1/webhooks", Json(json!({"url": "not a url"})), SUPER, None),
        row("GET", "/api/v1/webhooks/nope", Empty, [E::No, E::No, E::No, E::No, E::Hidden], None),
        row("GET", "/api/v1/webhooks/nope/deliveries", Empty, [E::No, E::No, E::No, E::No, E::Hidden], None),
        row("DELETE", "/api/v1/webhooks/nope", Empty, [E::No, E::No, E::No, E::No, E::Hidden], None),
        row("GET", "/api/v1/calendars", Empty, ALL, None),
        row("GET", "/api/v1/calendars/england-and-wales", Empty, ALL, None),
        row("POST", "/api/v1/calendars/england-and-wales/closures", Json(json!({"date": "bad"})), SUPER, None),
        row(
            "DELETE",
            "/api/v1/calendars/england-and-wales/closures/2030-01-02",
            Empty,
            [E::No, E::No, E::No, E::No, E::Hidden],
            None,
        ),
        // Speech models and recognition settings (an out-of-range beam is refused on its merits).
        row("GET", "/api/v1/models", Empty, SUPER, None),
        row("GET", "/api/v1/settings/recognition", Empty, SUPER, None),
        row(
            "PUT",
            "/api/v1/settings/recognition",
            Json(json!({"beam_size": 99})),
            [E::No, E::No, E::No, E::No, E::Is(422)],
            None,
        ),
        // The clinical lexicon: super-users manage it (a bad term is refused on its merits);
        // everyone who edits letters may spell-check, within the letter's scope.
        row("GET", "/api/v1/lexicon", Empty, SUPER, None),
        row("GET", "/api/v1/lexicon/stats", Empty, SUPER, None),
        row("GET", "/api/v1/lexicon/substitutions", Empty, SUPER, None),
        row("POST", "/api/v1/lexicon", Json(json!({"term": "<b>"})), [E::No, E::No, E::No, E::No, E::Is(422)], None),
        row("DELETE", "/api/v1/lexicon/nope", Empty, [E::No, E::No, E::No, E::No, E::Is(404)], None),
        row(
            "POST",
            "/api/v1/lexicon/substitutions/nope/approve",
            Empty,
            [E::No, E::No, E::No, E::No, E::Is(404)],
            None,
        ),
        row(
            "POST",
            "/api/v1/spellcheck",
            Json(json!({"text": "colour", "dictation_id": "{d}"})),
            [E::Is(200), E::Is(200), E::Is(200), E::No, E::Is(200)],
            Some([E::Hidden, E::Hidden, E::Hidden, E::No, E::Ok]),
        ),
        // The caller's account.
        row("GET", "/api/v1/auth/me", Empty, ALL, None),
        row("GET", "/api/v1/auth/tokens", Empty, ALL, None),
        row("POST", "/api/v1/auth/tokens", Json(json!({"name": "matrix"})), [E::Is(201); 5], None),
        row("DELETE", "/api/v1/auth/tokens/not-mine", Empty, [E::Hidden; 5], None),
    ]
}

fn fill(template: &str, inside: bool, ids: &Ids) -> String {
    let (d, clin, sec) = if inside {
        (&ids.ent_letter, "dr.patel", "sec.jones")
    } else {
        (&ids.cardio_letter, "dr.cardio", "sec.cardio")
    };
    template.replace("{d}", d).replace("{clin}", clin).replace("{sec}", sec)
}

struct Ids {
    ent_letter: String,
    cardio_letter: String,
}

async fn send(app: &TestApp, token: Option<&str>, row: &Row, inside: bool, ids: &Ids) -> (u16, String) {
    let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(&fill(row.path, inside, ids)));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req = match &row.body {
        Body::None => req,
        Body::Json(v) => req.json(&serde_json::from_str::<Value>(&fill(&v.to_string(), inside, ids)).unwrap()),
        Body::Yaml(y) => req.header("content-type", "application/yaml").body(*y),
        // Anonymous uploads are refused before the body is read, and the server may close
        // the connection while the client still sends; the 401 needs no body.
        Body::Upload(_) if token.is_none() => req,
        Body::Upload(clin) => {
            let form = reqwest::multipart::Form::new()
                .text("clinician", fill(clin, inside, ids))
                .text("specialty", "ENT")
                .part("audio", reqwest::multipart::Part::bytes(fixture("speech_3s.wav")).file_name("a.wav"));
            req.multipart(form)
        }
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

fn meets(expected: E, status: u16) -> bool {
    match expected {
        E::Ok => !matches!(status, 401 | 403 | 404) && status < 500,
        E::No => status == 403,
        E::Hidden => status == 404,
        E::Is(s) => status == s,
    }
}

async fn upload_as(app: &TestApp, token: &str) -> String {
    let fields = [("specialty", "ENT"), ("letter_type", "clinic_letter")];
    let resp = app.upload(token, fixture("speech_3s.wav"), "a.wav", &fields).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let s = &app.state;
    dictaflow::workflow::service::on_recognition_done(&s.db, &s.clock, &id, "Dear Dr Smith.").await.unwrap();
    id
}

async fn every_endpoint_every_role(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let callers = [
        ("clinician", app.user("dr.patel", Role::Clinician, &["ent"]).await),
        ("secretary", app.user("sec.jones", Role::Secretary, &["ent"]).await),
        ("team_lead", app.user("lead", Role::TeamLead, &["ent"]).await),
        ("manager", app.user("manager", Role::Manager, &["ent"]).await),
        ("superuser", app.user("admin", Role::Superuser, &[]).await),
    ];
    let cardio = app.user("dr.cardio", Role::Clinician, &["cardio"]).await;
    app.user("sec.cardio", Role::Secretary, &["cardio"]).await;
    let ids = Ids { ent_letter: upload_as(&app, &callers[0].1).await, cardio_letter: upload_as(&app, &cardio).await };

    let mut failures = Vec::new();
    for row in rows() {
        let scopes: Vec<(bool, [E; 5])> =
            std::iter::once((true, row.inside)).chain(row.outside.map(|o| (false, o))).collect();
        for (inside, expected) in scopes {
            let (status, _) = send(&app, None, &row, inside, &ids).await;
            if status != 401 {
                failures.push(format!("anonymous {} {}: {status}, expected 401", row.method, row.path));
            }
            for ((role, token), want) in callers.iter().zip(expected) {
                let (status, body) = send(&app, Some(token), &row, inside, &ids).await;
                if !meets(want, status) {
                    let scope = if inside { "in scope" } else { "out of scope" };
                    failures.push(format!(
                        "{role} {} {} ({scope}): {status}, expected {want:?}: {body}",
                        row.method, row.path
                    ));
                }
            }
        }
    }

    // Listing never shows letters outside the caller's scope.
    for (role, token) in &callers {
        let (_, list) = app.get_json(token, "/api/v1/dictations").await;
        let listed: Vec<&str> = list["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert!(listed.contains(&ids.ent_letter.as_str()), "{role}");
        assert_eq!(listed.contains(&ids.cardio_letter.as_str()), *role == "superuser", "{role}");
    }
    // Which letters a list showed is in the audit trail.
    let (_, trail) = app.get_json(&callers[4].1, "/api/v1/audit?action=dictation.list&actor=sec.jones").await;
    let last = &trail["items"][0];
    let shown = last["details"]["shown"].as_array().unwrap();
    assert!(shown.contains(&json!(ids.ent_letter)) && !shown.contains(&json!(ids.cardio_letter)), "{trail}");

    // The OpenAI-compatible endpoint: any authenticated active user (recognition is off
    // in these tests, so an allowed caller gets 503 `model_unavailable`).
    let url = app.url("/v1/audio/transcriptions");
    for (role, token) in &callers {
        let form = reqwest::multipart::Form::new()
            .text("model", "whisper-1")
            .part("file", reqwest::multipart::Part::bytes(fixture("speech_3s.wav")).file_name("a.wav"));
        let status = app.client.post(&url).bearer_auth(token).multipart(form).send().await.unwrap().status();
        // The read-only manager transcribes nothing.
        let allowed = *role != "manager";
        if matches!(status.as_u16(), 401 | 403 | 404) == allowed {
            failures.push(format!("{role} POST /v1/audio/transcriptions: {status}, allowed: {allowed}"));
        }
    }
    let resp = app.client.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401, "anonymous transcription");
    assert!(failures.is_empty(), "{} cells wrong:\n{}", failures.len(), failures.join("\n"));
}

crate::both_backends!(every_endpoint_every_role);
