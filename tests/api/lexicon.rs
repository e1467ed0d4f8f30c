//! The clinical lexicon over HTTP on both databases: administration with its audit rows
//! and refusals, learning from approved letters, substitutions, spell-check.

use dictaflow::lexicon::{release, substitute};
use dictaflow::stt::{Segment, Transcript, Word};
use serde_json::{Value, json};

use crate::both_backends;
use crate::workflow::support::{Team, team};

async fn call(t: &Team, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = t.app.url(path);
    let mut req = match method {
        "POST" => t.app.client.post(url),
        "DELETE" => t.app.client.delete(url),
        _ => t.app.client.get(url),
    }
    .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn audit_actions(t: &Team) -> Vec<String> {
    let (_, a) = t.app.get_json(&t.admin, "/api/v1/audit?action=admin.&limit=1000").await;
    let actions = a["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_string());
    actions.filter(|a| a.starts_with("admin.lexicon_")).collect()
}

async fn administration(backend: crate::helpers::Backend) {
    let Some(t) = team(backend).await else { return };
    let (status, all) = t.app.get_json(&t.admin, "/api/v1/lexicon?limit=5").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["total"], release::entries().len());
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert!(all["next_cursor"].is_string());
    // Refusals: other roles get 403, bad terms 422 at their field, duplicates 409.
    for token in [&t.patel, &t.jones, &t.lead] {
        assert_eq!(t.app.get_json(token, "/api/v1/lexicon").await.0, 403);
        let (s, _) = call(&t, token, "POST", "/api/v1/lexicon", Some(json!({"term": "brelvomycin"}))).await;
        assert_eq!(s, 403);
    }
    let (s, e) = call(&t, &t.admin, "POST", "/api/v1/lexicon", Some(json!({"term": "x<script>"}))).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("term")), "{e}");
    let (s, e) = call(&t, &t.admin, "POST", "/api/v1/lexicon", Some(json!({"term": "ok", "category": "drug"}))).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("category")), "{e}");
    let first = &release::entries()[0];
    let (s, _) = call(&t, &t.admin, "POST", "/api/v1/lexicon", Some(json!({"term": first.term}))).await;
    assert_eq!(s, 409, "a release term is already there");
    let body = json!({"term": "Brelvomycin", "category": "medicine", "scope": "specialty:ENT"});
    let (s, added) = call(&t, &t.admin, "POST", "/api/v1/lexicon", Some(body.clone())).await;
    assert_eq!(s, 201, "{added}");
    assert_eq!((added["scope"].as_str(), added["source"].as_str()), (Some("specialty:ent"), Some("added")));
    assert_eq!(call(&t, &t.admin, "POST", "/api/v1/lexicon", Some(body)).await.0, 409);
    let (_, found) = t.app.get_json(&t.admin, "/api/v1/lexicon?q=BRELVO&source=added").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["term"], "Brelvomycin");

    // A release entry is suppressed, then restored; an added one is deleted.
    let path = format!("/api/v1/lexicon/{}", first.id);
    assert_eq!(call(&t, &t.jones, "DELETE", &path, None).await.0, 403);
    assert_eq!(call(&t, &t.admin, "DELETE", &path, None).await.0, 204);
    assert_eq!(call(&t, &t.admin, "DELETE", &path, None).await.0, 409);
    let (_, listed) = t.app.get_json(&t.admin, &format!("/api/v1/lexicon?q={}&source=release", first.key)).await;
    let item = listed["items"].as_array().unwrap().iter().find(|i| i["id"] == first.id.as_str()).unwrap().clone();
    assert_eq!(item["removed"], true);
    let d = t.drafted(&t.patel, "routine").await;
    let terms = dictaflow::lexicon::terms_for_dictation(&t.app.state.db, &d).await.unwrap();
    assert!(!terms.contains(&first.term), "a removed release entry leaves the effective lexicon");
    assert!(terms.iter().any(|t| t == "Brelvomycin"), "the specialty's entry applies to its letters");
    assert_eq!(call(&t, &t.admin, "POST", &format!("{path}/restore"), None).await.0, 204);
    assert_eq!(call(&t, &t.admin, "POST", &format!("{path}/restore"), None).await.0, 409);
    let terms = dictaflow::lexicon::terms_for_dictation(&t.app.state.db, &d).await.unwrap();
    assert!(terms.contains(&first.term));
    let added_path = format!("/api/v1/lexicon/{}", added["id"].as_str().unwrap());
    assert_eq!(call(&t, &t.admin, "DELETE", &added_path, None).await.0, 204);
    assert_eq!(call(&t, &t.admin, "DELETE", &added_path, None).await.0, 404);

    // Import: a text body, then a multipart file; each line added, already there or invalid.
    let text = format!("# a comment\nzorbatide\n\nzorbatide\n{}\nbad;term\nqelmarin\n", first.term);
    let resp = t
        .app
        .client
        .post(t.app.url("/api/v1/lexicon/import?category=medicine"))
        .bearer_auth(&t.admin)
        .header("content-type", "text/plain")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!((report["added"].as_u64(), report["already_present"].as_u64()), (Some(2), Some(2)), "{report}");
    assert_eq!(report["invalid"][0]["line"], 6);
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"plexorin\nzorbatide\n".to_vec()).file_name("list.txt"))
        .text("scope", "clinician:dr.patel");
    let resp = t
        .app
        .client
        .post(t.app.url("/api/v1/lexicon/import"))
        .bearer_auth(&t.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let report: Value = resp.json().await.unwrap();
    assert_eq!((report["added"].as_u64(), report["already_present"].as_u64()), (Some(2), Some(0)), "{report}");
    let big = "a\n".repeat(600 * 1024);
    let resp = t
        .app
        .client
        .post(t.app.url("/api/v1/lexicon/import"))
        .bearer_auth(&t.admin)
        .header("content-type", "text/plain")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let resp = t
        .app
        .client
        .post(t.app.url("/api/v1/lexicon/import"))
        .bearer_auth(&t.jones)
        .header("content-type", "text/plain")
        .body("zz\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    let (_, stats) = t.app.get_json(&t.admin, "/api/v1/lexicon/stats").await;
    assert_eq!(stats["by_source"]["imported"], 4, "{stats}");
    assert_eq!(stats["by_source"]["release"], release::entries().len());
    let mut actions = audit_actions(&t).await;
    actions.sort();
    let expected = [
        "admin.lexicon_add",
        "admin.lexicon_import",
        "admin.lexicon_import",
        "admin.lexicon_remove",
        "admin.lexicon_remove",
        "admin.lexicon_restore",
    ];
    assert_eq!(actions, expected, "each change is audited once; refusals are not");
}

/// Takes a letter recognised as `heard` through correction to approval with `typed` as its text.
async fn correct_and_approve(t: &Team, heard: &str, typed: &str) -> String {
    let id = t.upload(&t.patel, "routine").await["id"].as_str().unwrap().to_string();
    let s = &t.app.state;
    dictaflow::workflow::service::on_recognition_done(&s.db, &s.clock, &id, heard).await.unwrap();
    t.ok(&t.jones, &id, "claim", json!({})).await;
    let url = t.app.url(&format!("/api/v1/dictations/{id}/draft"));
    let resp = t
        .app
        .client
        .put(url)
        .bearer_auth(&t.jones)
        .json(&json!({"text": typed, "base_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    t.ok(&t.jones, &id, "submit", json!({})).await;
    t.ok(&t.patel, &id, "approve", json!({})).await;
    id
}

async fn learned(t: &Team) -> Vec<Value> {
    let (_, l) = t.app.get_json(&t.admin, "/api/v1/lexicon?source=learned").await;
    l["items"].as_array().unwrap().clone()
}

async fn learning_and_substitutions(backend: crate::helpers::Backend) {
    let Some(t) = team(backend).await else { return };
    let (heard, typed) = ("He takes zel vomycin daily.", "He takes brelvomycin daily.");
    let first = correct_and_approve(&t, heard, typed).await;
    correct_and_approve(&t, heard, typed).await;
    // Dispatching an approved letter does not count it again.
    t.ok(&t.jones, &first, "dispatch", json!({})).await;
    assert!(learned(&t).await.is_empty(), "two letters are below the threshold of three");
    let third = correct_and_approve(&t, heard, typed).await;
    let items = learned(&t).await;
    let scopes: Vec<&str> = items.iter().map(|i| i["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes, ["clinician:dr.patel", "specialty:ent"], "{items:?}");
    assert!(items.iter().all(|i| i["term"] == "brelvomycin"));
    let prompt = dictaflow::vocabulary::prompt_for(&t.app.state.db, &third).await.unwrap().unwrap();
    assert!(prompt.contains("brelvomycin"), "{prompt}");

    // The substitution is proposed per scope with its count and example letters.
    assert_eq!(t.app.get_json(&t.jones, "/api/v1/lexicon/substitutions").await.0, 403);
    let (_, subs) = t.app.get_json(&t.admin, "/api/v1/lexicon/substitutions?status=proposed").await;
    let subs = subs["items"].as_array().unwrap().clone();
    assert_eq!(subs.len(), 2, "{subs:?}");
    for s in &subs {
        assert_eq!(
            (s["heard"].as_str(), s["corrected"].as_str(), s["count"].as_i64()),
            (Some("zel vomycin"), Some("brelvomycin"), Some(3))
        );
        assert_eq!(s["examples"].as_array().unwrap().len(), 3);
    }
    let pick = |scope: &str| subs.iter().find(|s| s["scope"] == scope).unwrap()["id"].as_str().unwrap().to_string();
    let (clinician, specialty) = (pick("clinician:dr.patel"), pick("specialty:ent"));
    let path = |id: &str, what: &str| format!("/api/v1/lexicon/substitutions/{id}/{what}");
    assert_eq!(call(&t, &t.jones, "POST", &path(&clinician, "approve"), None).await.0, 403);
    assert_eq!(call(&t, &t.admin, "POST", &path(&clinician, "approve"), None).await.0, 200);
    assert_eq!(call(&t, &t.admin, "POST", &path(&clinician, "approve"), None).await.0, 409);
    assert_eq!(call(&t, &t.admin, "POST", &path(&specialty, "reject"), None).await.0, 200);
    assert_eq!(call(&t, &t.admin, "POST", &path("nope", "reject"), None).await.0, 404);
    let (_, approved) = t.app.get_json(&t.admin, "/api/v1/lexicon/substitutions?status=approved").await;
    assert_eq!(approved["items"].as_array().unwrap().len(), 1);
    assert_eq!(audit_actions(&t).await.len(), 2, "both decisions are audited");

    // A new letter of the clinician: the approved substitution rewrites its transcript.
    let new_id = t.upload(&t.patel, "routine").await["id"].as_str().unwrap().to_string();
    let mut transcript = transcript_of(&["He", "takes", "Zel", "vomycin,", "daily."]);
    let made = substitute::apply_approved(&t.app.state.db, &new_id, &mut transcript).await;
    assert_eq!(made, 1);
    assert_eq!(transcript.text, "He takes brelvomycin, daily.");
    assert_eq!(transcript.segments[0].words[2].heard.as_deref(), Some("Zel vomycin,"));
    // Another clinician's letter is not changed.
    let other = t.upload(&t.okafor, "routine").await["id"].as_str().unwrap().to_string();
    let mut transcript = transcript_of(&["Zel", "vomycin"]);
    assert_eq!(substitute::apply_approved(&t.app.state.db, &other, &mut transcript).await, 0);
}

fn transcript_of(words: &[&str]) -> Transcript {
    let words: Vec<Word> = words
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start: i as f64,
            end: i as f64 + 0.5,
            text: w.to_string(),
            confidence: 0.3,
            low_confidence: true,
            heard: None,
        })
        .collect();
    let text = words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
    let segments = vec![Segment { start: 0.0, end: 5.0, text: text.clone(), words, ..Default::default() }];
    Transcript {
        text,
        language: "en".into(),
        segments,
        model: "tiny.en".into(),
        processing_seconds: 0.1,
        audio_seconds: 5.0,
    }
}

async fn spellcheck(backend: crate::helpers::Backend) {
    let Some(t) = team(backend).await else { return };
    let body = json!({"text": "We will recieve the color bisoprolol today."});
    let (s, r) = call(&t, &t.jones, "POST", "/api/v1/spellcheck", Some(body)).await;
    assert_eq!(s, 200, "{r}");
    let issues = r["issues"].as_array().unwrap();
    let words: Vec<&str> = issues.iter().map(|i| i["word"].as_str().unwrap()).collect();
    assert_eq!(words, ["recieve", "color"]);
    assert_eq!((issues[0]["start"].as_u64(), issues[0]["end"].as_u64()), (Some(8), Some(15)));
    assert_eq!(issues[0]["suggestions"][0], "receive");
    assert_eq!(issues[1]["suggestions"], json!(["colour"]));
    // A clinician's own lexicon counts when the letter is named; another department's letter is hidden.
    let entry = json!({"term": "plexorin", "scope": "clinician:dr.patel"});
    assert_eq!(call(&t, &t.admin, "POST", "/api/v1/lexicon", Some(entry)).await.0, 201);
    let d = t.drafted(&t.patel, "routine").await;
    let (_, r) =
        call(&t, &t.jones, "POST", "/api/v1/spellcheck", Some(json!({"text": "plexorin", "dictation_id": d}))).await;
    assert_eq!(r["issues"], json!([]), "{r}");
    let (_, r) = call(&t, &t.jones, "POST", "/api/v1/spellcheck", Some(json!({"text": "plexorin"}))).await;
    assert_eq!(r["issues"].as_array().unwrap().len(), 1);
    let (s, _) = call(&t, &t.cardio, "POST", "/api/v1/spellcheck", Some(json!({"text": "x", "dictation_id": d}))).await;
    assert_eq!(s, 404);
    let (s, e) = call(&t, &t.jones, "POST", "/api/v1/spellcheck", Some(json!({"text": "a ".repeat(30_000)}))).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("text")));
}

both_backends!(administration, learning_and_substitutions, spellcheck);

/// An installed hunspell dictionary (`lexicon.extra_dictionaries`, as Debian's
/// hunspell-en-med) adds known words; its American spellings lose to the British ones.
#[tokio::test]
async fn spellcheck_reads_an_installed_hunspell_dictionary() {
    use crate::helpers::{Backend, spawn_app_with};
    use dictaflow::domain::Role;
    let text = json!({"text": "Both xanthelasmata and hemoglobinopathy."});
    let flagged = |r: &Value| -> Vec<(String, Value)> {
        r["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["word"].as_str().unwrap().to_string(), i["suggestions"].clone()))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let dic = dir.path().join("en_med.dic");
    std::fs::write(&dic, "3\nxanthelasmata\nhemoglobinopathy/S\nhaemoglobinopathy/S\n").unwrap();
    let mut seen = Vec::new();
    for extra in [vec![], vec![dic.clone(), dir.path().join("not-installed.dic")]] {
        let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.lexicon.extra_dictionaries = extra).await else { return };
        let token = app.user("sec.jones", Role::Secretary, &["ent"]).await;
        let resp = app.client.post(app.url("/api/v1/spellcheck")).bearer_auth(&token).json(&text).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        seen.push(flagged(&resp.json().await.unwrap()));
    }
    let words = |v: &Vec<(String, Value)>| v.iter().map(|(w, _)| w.clone()).collect::<Vec<_>>();
    assert_eq!(words(&seen[0]), ["xanthelasmata", "hemoglobinopathy"], "without the dictionary: {seen:?}");
    assert_eq!(seen[1], [("hemoglobinopathy".to_string(), json!(["haemoglobinopathy"]))], "{seen:?}");
}
