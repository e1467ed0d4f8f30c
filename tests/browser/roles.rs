//! What each role does in the browser, step by step, with the checks that prove it worked.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::webdriver::keys;
use crate::{Flow, SPEECH};

/// Clinician: record in the browser (Chromium's fake microphone), watch the level meter, pause
/// and resume, play it back, and send it.
pub async fn clinician_records(f: &Flow) {
    f.web.click_css("a[href='/app/dictations/new']", 5).await;
    f.web.click_css("#rec-start", 10).await;
    f.web.wait_js("the level meter", "return document.querySelector('#level').value > 0.01", 10).await;
    f.web.click_css("#rec-pause", 5).await;
    f.web.wait_js("paused", "return document.querySelector('#rec-status').textContent === 'Paused'", 5).await;
    f.web.click_css("#rec-pause", 5).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    f.web.click_css("#rec-stop", 5).await;
    f.web
        .wait_js(
            "playback of the recording",
            "const a = document.querySelector('#rec-playback'); return !a.hidden && a.src.startsWith('blob:') && a.readyState >= 1",
            10,
        )
        .await;
    f.web.click_css("form button[type=submit]", 5).await;
    f.web.wait_js("the list", "return location.pathname === '/app/dictations'", 30).await;
    let items = f.api("dr.patel", "/api/v1/dictations").await;
    let recorded = &items["items"][0];
    assert_eq!(recorded["audio"]["container"], "webm", "{recorded}");
    assert!(recorded["audio"]["duration_seconds"].as_f64().unwrap() > 1.0, "{recorded}");
}

/// Clinician: sign in, check the NHS number as typed, upload a corpus file, watch the draft
/// appear with its progress. Returns the dictation id.
pub async fn clinician_uploads(f: &Flow, corpus: &Path) -> String {
    f.sign_in("dr.patel", "/app/dictations").await;
    clinician_records(f).await;
    f.web.click_css("a[href='/app/dictations/new']", 5).await;
    let nhs = f.web.wait("#nhs", 10).await;
    f.web.type_into(&nhs, "943 476 5918").await;
    let hint = f.web.find("#nhs-hint").await.unwrap();
    assert!(f.web.text(&hint).await.contains("check digit"), "a wrong check digit is flagged as typed");
    f.web.type_into(&nhs, keys::BACKSPACE).await;
    f.web.type_into(&nhs, "9").await;
    assert_eq!(f.web.text(&hint).await, "Valid NHS number 943 476 5919");
    f.web.type_into(&f.web.find("input[name=patient_name]").await.unwrap(), "Ann Example").await;
    f.web.type_into(&f.web.find("input[name=specialty]").await.unwrap(), "Oncology").await;
    let file = f.web.find("input[type=file]").await.unwrap();
    let speech = corpus.join(SPEECH).canonicalize().expect("the corpus file");
    f.web.type_into(&file, &speech.to_string_lossy()).await;
    f.shot("new-dictation").await;
    f.web.click_css("form button[type=submit]", 5).await;
    f.web.wait_js("the list", "return location.pathname === '/app/dictations'", 30).await;
    let row = f.web.wait("#dictations tbody tr", 15).await;
    let _ = row;
    // The recognition column shows a progress bar (queued or running) before the draft is there.
    let seen = f
        .web
        .wait_js("recognition progress", "return document.querySelector('#dictations tbody tr:first-child td.recognition progress') ? 'progress' : (document.querySelector('#dictations tbody tr:first-child td.recognition')||{}).textContent", 20)
        .await;
    assert_eq!(seen, json!("progress"), "the list shows recognition progress while it runs");
    f.shot("my-dictations").await;
    let id = f.web.js("return document.querySelector('#dictations tbody tr').dataset.id", json!([])).await;
    let id = id.as_str().unwrap().to_string();
    f.web
        .wait_js(
            "the draft",
            "return document.querySelector('#dictations tbody tr:first-child td.recognition').textContent === 'Recognised' \
             && document.querySelector('#dictations tbody tr').dataset.status === 'drafted'",
            300,
        )
        .await;
    // The same list on a phone.
    f.web.window_size(390, 844).await;
    f.shot("phone-my-dictations").await;
    f.web.window_size(1280, 900).await;
    let d = f.api("dr.patel", &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(d["draft"]["version"], 1);
    assert_eq!(d["patient"]["nhs_number"], "9434765919");
    f.sign_out().await;
    id
}

/// Secretary: open the letter from the queue, claim it, use the transcription keys, correct a
/// word (autosaved), survive an edit conflict without losing text, and submit.
pub async fn secretary_corrects(f: &Flow, id: &str) {
    f.sign_in("sec.jones", "/app/queue").await;
    let link = f.web.wait(&format!("#queue tr[data-id='{id}'] a"), 20).await;
    f.shot("queue").await;
    f.web.click(&link).await;
    f.web.click_css("button[data-action=claim]", 10).await;
    let draft = f.web.wait("#draft:not([readonly])", 10).await;
    f.web.wait_js("audio metadata", "return document.querySelector('#player').readyState >= 1", 20).await;
    let audio = |prop: &str| format!("return document.querySelector('#player').{prop}");

    // Play with F8, pause with F8, rewind with F7, forward with F9, faster with Alt+Up.
    f.web.click(&draft).await;
    f.web.type_into(&draft, keys::F8).await;
    f.web
        .wait_js("playback", "const a = document.querySelector('#player'); return !a.paused && a.currentTime > 1.5", 20)
        .await;
    f.web.wait_js("a highlighted word", "return document.querySelector('#draft-marks .w.current')", 10).await;
    f.web.type_into(&draft, keys::F8).await;
    f.web.wait_js("pause", &audio("paused"), 5).await;
    // Resuming rewinds a second first.
    let t0 = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    f.web.type_into(&draft, keys::F8).await;
    let resumed = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!(resumed < t0 - 0.6, "resume rewinds about 1 s: {t0} -> {resumed}");
    f.web.type_into(&draft, keys::F8).await;
    f.web.wait_js("pause", &audio("paused"), 5).await;
    let t1 = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    f.web.type_into(&draft, keys::F7).await;
    let t2 = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!((t2 - (t1 - 3.0).max(0.0)).abs() < 0.3, "F7 rewinds 3 s: {t1} -> {t2}");
    f.web.type_into(&draft, keys::F9).await;
    f.web.type_into(&draft, keys::F9).await;
    let t3 = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!((t3 - (t2 + 6.0)).abs() < 0.3, "F9 twice forwards 6 s: {t2} -> {t3}");
    f.web.type_into(&draft, &format!("{}{}", keys::ALT, keys::ARROW_UP)).await;
    assert_eq!(f.web.js(&audio("playbackRate"), json!([])).await.as_f64(), Some(1.1));
    // Ctrl+Enter in a word of the letter plays from it.
    let start = f
        .web
        .js(
            "let at = 0; let n = 0; let start = null; const a = document.querySelector('#draft');
             for (const node of document.querySelector('#draft-marks').childNodes) {
               if (node.nodeType === 1 && node.classList.contains('w') && n++ === 5) {
                 start = Number(node.dataset.start); a.focus(); a.setSelectionRange(at + 1, at + 1); break;
               }
               at += node.textContent.length;
             }
             document.querySelector('#player').pause();
             return start;",
            json!([]),
        )
        .await;
    f.web.type_into(&draft, &format!("{}{}", keys::CONTROL, keys::ENTER)).await;
    f.web.wait_js("playing from the word", "return !document.querySelector('#player').paused", 5).await;
    let now = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!((now - start.as_f64().unwrap()).abs() < 0.7, "Ctrl+Enter plays from {start}, at {now}");
    // Low-confidence words are marked in the letter: those below the threshold of the settings.
    let d = f.api("sec.jones", &format!("/api/v1/dictations/{id}")).await;
    let threshold = d["transcription"]["low_confidence_threshold"].as_f64().unwrap();
    let words: Vec<&serde_json::Value> = d["transcription"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["words"].as_array().unwrap())
        .collect();
    let marked = f
        .web
        .js(
            "return [...document.querySelectorAll('#draft-marks .w')].map((s) => [Number(s.dataset.start), s.classList.contains('low')])",
            json!([]),
        )
        .await;
    let marked = marked.as_array().unwrap();
    assert!(marked.len() * 2 >= words.len(), "most words of the draft are timed: {} of {}", marked.len(), words.len());
    for m in marked {
        let start = m[0].as_f64().unwrap();
        let low = m[1].as_bool().unwrap();
        let same = |w: &&&serde_json::Value| (w["start"].as_f64().unwrap() - start).abs() < 1e-6;
        assert!(
            words.iter().filter(same).any(|w| (w["confidence"].as_f64().unwrap() < threshold) == low),
            "the mark at {start} s (low: {low}) is a recognised word with that confidence"
        );
    }
    f.web.type_into(&draft, keys::F8).await;
    f.web.wait_js("pause", &audio("paused"), 5).await;
    f.shot("editor").await;

    // Correct the first word of the letter by typing; autosave makes version 2.
    let original = f.web.js("return document.querySelector('#draft').value", json!([])).await;
    let original = original.as_str().unwrap().to_string();
    let first_len = original.split_whitespace().next().unwrap().len();
    f.web
        .js(
            "const a = document.querySelector('#draft'); a.focus(); a.setSelectionRange(0, arguments[0])",
            json!([first_len]),
        )
        .await;
    f.web.type_into(&draft, "Corrected").await;
    f.web
        .wait_js(
            "autosave",
            "return document.querySelector('#save-status').textContent.startsWith('Saved (version 2')",
            15,
        )
        .await;
    let mine = format!("Corrected{}", &original[first_len..]);
    let d = f.api("sec.jones", &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(d["draft"]["text"].as_str().unwrap(), mine);

    // Someone else saves version 3 (another tab); the next autosave conflicts and shows it.
    let resp = f
        .app
        .client
        .put(f.url(&format!("/api/v1/dictations/{id}/draft")))
        .bearer_auth(&f.tokens["sec.jones"])
        .json(&json!({"text": "Text from another tab.", "base_version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    f.web.js("const a = document.querySelector('#draft'); a.focus(); a.setSelectionRange(a.value.length, a.value.length)", json!([])).await;
    f.web.type_into(&draft, " Signed.").await;
    f.web.wait("#conflict #keep-mine", 15).await;
    let theirs = f.web.js("return document.querySelector('#their-text').value", json!([])).await;
    assert_eq!(theirs, json!("Text from another tab."));
    let kept = f.web.js("return document.querySelector('#draft').value", json!([])).await;
    assert_eq!(kept.as_str().unwrap(), format!("{mine} Signed."), "nothing typed is lost");
    f.shot("conflict").await;
    f.web.click_css("#keep-mine", 5).await;
    f.web
        .wait_js(
            "save after conflict",
            "return document.querySelector('#save-status').textContent.startsWith('Saved (version 4')",
            15,
        )
        .await;

    f.web.click_css("button[data-action=submit]", 5).await;
    f.web.wait_js("back to the queue", "return location.pathname === '/app/queue'", 10).await;
    let d = f.api("sec.jones", &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(d["status"], "awaiting_review");
    assert_eq!(d["draft"]["text"].as_str().unwrap(), format!("{mine} Signed."));
    f.sign_out().await;
}

pub async fn clinician_approves(f: &Flow, id: &str) {
    f.sign_in("dr.patel", "/app/dictations").await;
    f.web.click_css(&format!("#dictations tr[data-id='{id}'] a"), 10).await;
    f.web.wait("button[data-action=approve]", 10).await;
    let title = f.web.js("return document.title", json!([])).await;
    assert_eq!(title, json!("Letter – dictaflow"), "no patient name in the title (it goes into the history)");
    let text = f.web.js("return document.querySelector('#draft').value", json!([])).await;
    assert!(text.as_str().unwrap().starts_with("Corrected"), "{text}");
    f.shot("review").await;

    // Returning needs a comment: without one the server refuses and the comment box gets focus.
    f.web.click_css("button[data-action=return]", 5).await;
    f.web
        .wait_js(
            "the comment is asked for",
            "return document.activeElement && document.activeElement.id === 'comment'",
            10,
        )
        .await;
    let comment = f.web.find("#comment").await.unwrap();
    f.web.type_into(&comment, "Please add the follow-up date.").await;
    f.web.click_css("button[data-action=return]", 5).await;
    f.web.wait_js("back to the list", "return location.pathname === '/app/dictations'", 10).await;
    let d = f.api("dr.patel", &format!("/api/v1/dictations/{id}")).await;
    assert_eq!((d["status"].as_str(), d["assignee"].as_str()), (Some("in_correction"), Some("sec.jones")));
    f.sign_out().await;

    // The secretary sees the comment in the history and sends the letter back.
    f.sign_in("sec.jones", "/app/queue").await;
    f.web.click_css(&format!("#queue tr[data-id='{id}'] a"), 20).await;
    f.web.click_css("details#history > summary", 10).await;
    f.web
        .wait_js(
            "the comment",
            "return document.querySelector('ol.history').textContent.includes('Please add the follow-up date.')",
            10,
        )
        .await;
    f.web.click_css("button[data-action=submit]", 5).await;
    f.web.wait_js("back to the queue", "return location.pathname === '/app/queue'", 10).await;
    f.sign_out().await;

    f.sign_in("dr.patel", "/app/dictations").await;
    f.web.click_css(&format!("#dictations tr[data-id='{id}'] a"), 10).await;
    f.web.click_css("button[data-action=approve]", 10).await;
    f.web.wait_js("back to the list", "return location.pathname === '/app/dictations'", 10).await;
    let d = f.api("dr.patel", &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(d["status"], "approved");
    f.sign_out().await;
}

/// The letter arrives on the file system.
pub async fn downloaded(dir: &Path, name: &str) -> Vec<u8> {
    for _ in 0..100 {
        if let Ok(bytes) = std::fs::read(dir.join(name))
            && !bytes.is_empty()
        {
            return bytes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} was not downloaded");
}

/// Secretary: export the approved letter as PDF and DOCX, then dispatch it.
pub async fn secretary_dispatches(f: &Flow, id: &str) {
    f.sign_in("sec.jones", "/app/queue").await;
    f.web.click_css(&format!("#queue tr[data-id='{id}'] a"), 20).await;
    f.web.wait("button[data-action=dispatch]", 10).await;
    let downloads = f.app.dir.path().join("downloads");
    f.web.click_css("a[href$='letter.pdf']", 5).await;
    let pdf = downloaded(&downloads, &format!("letter-{id}.pdf")).await;
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    // The text is set in an embedded font (glyph ids, compressed): read it back with poppler.
    let file = downloads.join("check.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if let Ok(out) = std::process::Command::new("pdftotext").arg(&file).arg("-").output() {
        assert!(String::from_utf8_lossy(&out.stdout).contains("Corrected"), "the corrected letter");
    }
    f.web.click_css("a[href$='letter.docx']", 5).await;
    let docx = downloaded(&downloads, &format!("letter-{id}.docx")).await;
    assert!(docx.starts_with(b"PK"), "a zip");
    f.web.click_css("button[data-action=dispatch]", 5).await;
    f.web.wait_js("back to the queue", "return location.pathname === '/app/queue'", 10).await;
    let d = f.api("sec.jones", &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(d["status"], "dispatched");
    f.sign_out().await;
}

/// Super-user: a broken workflow is refused with the error at its line; fixed, it saves.
pub async fn superuser_edits_workflow(f: &Flow) {
    f.sign_in("admin", "/app/workflows").await;
    f.shot("workflows").await;
    f.web.click_css("a[href='/app/workflows/clinic-letter']", 10).await;
    f.web.wait_js("validation", "return document.querySelector('#validity').textContent === 'Valid.'", 15).await;
    let yaml = f.web.js("return document.querySelector('#yaml').value", json!([])).await;
    let yaml = yaml.as_str().unwrap().to_string();
    let needle = "submit: { to: review";
    let at = yaml.find(needle).expect("the submit action") + needle.len();
    let line = yaml[..at].matches('\n').count() + 1;
    let area = f.web.find("#yaml").await.unwrap();
    let caret =
        |pos: usize| format!("const a = document.querySelector('#yaml'); a.focus(); a.setSelectionRange({pos}, {pos})");
    f.web.js(&caret(yaml[..at].encode_utf16().count()), json!([])).await;
    f.web.type_into(&area, "z").await;
    f.web.click_css("#save", 5).await;
    f.web.wait_js("the error list", "return document.querySelector('#errors li')", 10).await;
    let errors = f.web.text(&f.web.find("#errors").await.unwrap()).await;
    assert!(errors.contains(&format!("Line {line},")), "the error is at line {line}: {errors}");
    let marked =
        f.web.js("return [...document.querySelectorAll('.gutter .ln.err')].map(e => e.textContent)", json!([])).await;
    assert!(marked.as_array().unwrap().contains(&json!(line.to_string())), "gutter marks line {line}: {marked}");
    f.shot("workflow-error").await;
    // The version history compares a stored version with the editor, line by line.
    f.web.click_css("ol.versions button", 5).await;
    f.web.wait_js("the diff", "return document.querySelector('.diff-box h3')", 10).await;
    let diff = f.web.js("const b = document.querySelector('.diff-box'); return [b.querySelector('h3').textContent, [...b.querySelectorAll('ins')].map(e => e.textContent).join(''), [...b.querySelectorAll('del')].map(e => e.textContent).join('')]", json!([])).await;
    assert_eq!(diff[0], json!("Version 1 → editor (2 changed lines)"), "{diff}");
    assert!(diff[1].as_str().unwrap().contains("submit: { to: reviewz,"), "{diff}");
    assert!(diff[2].as_str().unwrap().contains("submit: { to: review,"), "{diff}");
    let versions = f.api("admin", "/api/v1/workflows/clinic-letter/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1, "nothing stored");
    f.web.js(&caret(yaml[..at].encode_utf16().count() + 1), json!([])).await;
    f.web.type_into(&area, keys::BACKSPACE).await;
    f.web.wait_js("valid again", "return document.querySelector('#validity').textContent === 'Valid.'", 10).await;
    f.web.click_css("#save", 5).await;
    f.web
        .wait_js("saved", "return document.querySelector('#validity').textContent === 'Saved as version 2.'", 10)
        .await;
    let versions = f.api("admin", "/api/v1/workflows/clinic-letter/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    f.web.wait("svg.diagram", 5).await;
    f.shot("workflow-editor").await;

    // Vocabularies: a term for the recogniser, saved for the oncology specialty.
    f.web.click_css("a[href='/app/vocabularies']", 5).await;
    // The list is chosen from menus: a specialty (a new one is typed), not a typed key.
    f.web.wait("#vocab-kind", 10).await;
    f.web.js("const k = document.querySelector('#vocab-kind'); k.value = 'specialty'; k.dispatchEvent(new Event('change'));", json!([])).await;
    let name = f.web.wait("#vocab-specialty", 5).await;
    f.web.type_into(&name, "Oncology").await;
    f.web.js("document.querySelector('#vocab-specialty').dispatchEvent(new Event('change'))", json!([])).await;
    f.web
        .wait_js("the list chosen", "return document.querySelector('#vocab-scope').value === 'specialty:Oncology'", 5)
        .await;
    let terms = f.web.find("#vocab-terms").await.unwrap();
    f.web.type_into(&terms, "Pemberton\nmammography").await;
    f.web.click_css("form.card button[type=submit]", 5).await;
    f.web.wait_js("saved", "return document.querySelector('#vocab-status').textContent === 'Saved 2 terms.'", 10).await;
    let v = f.api("admin", "/api/v1/vocabularies/specialty:Oncology").await;
    assert_eq!(v["terms"], json!(["Pemberton", "mammography"]));
    f.sign_out().await;
}

/// Team lead: the letter is on the board and in the dashboard; the CSV export downloads.
pub async fn team_lead_reports(f: &Flow, id: &str) {
    f.sign_in("lead.smith", "/app/board").await;
    // The dispatched letter has left the board; the recorded one is still open there, and
    // the team lead allocates it with the picker.
    f.web.wait("#risk-letters tbody tr", 10).await;
    let open_id = f.web.js("return document.querySelector('#risk-letters tbody tr').dataset.id", json!([])).await;
    let open_id = open_id.as_str().unwrap().to_string();
    f.web.click_css(&format!("#risk-letters tr[data-id='{open_id}'] td:last-child button"), 5).await;
    f.web.click_css("#picker input[value='sec.jones']", 10).await;
    f.web.click_css("#picker-go", 5).await;
    f.web
        .wait_js(
            "the reassignment",
            &format!("const r = document.querySelector(\"#risk-letters tr[data-id='{open_id}']\"); return r && r.textContent.includes('sec.jones')"),
            10,
        )
        .await;
    let d = f.api("lead.smith", &format!("/api/v1/dictations/{open_id}")).await;
    assert_eq!(d["assignee"], "sec.jones");
    let on_board =
        f.web.js(&format!("return !!document.querySelector(\"#risk-letters tr[data-id='{id}']\")"), json!([])).await;
    assert_eq!(on_board, json!(false));
    f.shot("board").await;
    f.web.click_css("a[href='/app/dashboard']", 5).await;
    f.web.wait("#summary tbody tr", 15).await;
    f.web.wait("svg.chart", 10).await;
    // The group with the dispatched letter shows its median turnaround in working days.
    let median = f
        .web
        .js(
            "const row = [...document.querySelectorAll('#summary tbody tr')] \
               .find((r) => Number(r.querySelectorAll('td')[1].textContent) > 0); \
             return row ? row.querySelectorAll('td')[4].textContent : null",
            json!([]),
        )
        .await;
    let median = median.as_str().expect("a group with a completed letter");
    assert!(median.parse::<f64>().is_ok(), "median working days: {median:?}");
    f.shot("dashboard").await;
    f.web.click_css("#export-csv", 5).await;
    f.web
        .wait_js("export", "return document.querySelector('#export-status').textContent.startsWith('Exported')", 10)
        .await;
    let downloads = f.app.dir.path().join("downloads");
    let mut csv = None;
    for _ in 0..50 {
        csv = std::fs::read_dir(&downloads)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".csv"))
            .and_then(|e| std::fs::read_to_string(e.path()).ok())
            // Chromium may put an empty file under the final name before writing it.
            .filter(|text| !text.is_empty());
        if csv.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let csv = csv.expect("the CSV file was downloaded");
    assert!(csv.lines().next().unwrap_or_default().contains("group"), "{csv}");
    assert!(csv.lines().count() >= 2, "{csv}");
}

/// Super-user: create a secretary in a team on the users page (teams ticked with the keyboard;
/// a bad username is reported at its field), find the creation in the audit trail, and close
/// a day on the calendar page.
pub async fn superuser_administers(f: &Flow) {
    f.sign_in("admin", "/app/workflows").await;
    f.web.click_css("a[href='/app/users']", 5).await;
    let username = f.web.wait("#nu-username", 10).await;
    f.web.wait("#users tr[data-username='sec.jones']", 10).await;
    f.web.type_into(&username, "Sec New").await;
    f.web.type_into(&f.web.find("#nu-display-name").await.unwrap(), "New Secretary").await;
    f.web.js("const s = document.querySelector('#nu-role'); s.value = 'secretary'", json!([])).await;
    // The teams are checkboxes of the existing teams; Space ticks the focused one.
    let boxes = f
        .web
        .js("return [...document.querySelectorAll('#nu-teams input[type=checkbox]')].map(b => b.value)", json!([]))
        .await;
    assert_eq!(boxes, json!(["ent"]), "one box per existing team");
    let ent = f.web.find("#nu-teams-ent").await.unwrap();
    f.web.type_into(&ent, " ").await;
    assert_eq!(f.web.js("return document.querySelector('#nu-teams-ent').checked", json!([])).await, true);
    let label = f.web.js("return document.querySelector(\"label[for='nu-teams-ent']\").textContent", json!([])).await;
    assert_eq!(label, "ent", "each box has its label");
    f.web.type_into(&f.web.find("#nu-password").await.unwrap(), "a long enough password").await;
    f.web.click_css("#user-new button[type=submit]", 5).await;
    let err = f
        .web
        .wait_js(
            "the error at the username field",
            "const e = document.querySelector('#nu-username-error'); return e.textContent && document.activeElement.id === 'nu-username' \
             && document.querySelector('#nu-username').getAttribute('aria-invalid') === 'true' ? e.textContent : null",
            10,
        )
        .await;
    assert!(err.as_str().unwrap().contains("Sec New"), "{err}");
    f.web.js("document.querySelector('#nu-username').value = ''", json!([])).await;
    f.web.type_into(&username, "sec.new").await;
    f.web.click_css("#user-new button[type=submit]", 5).await;
    f.web
        .wait_js("created", "return document.querySelector('#nu-status').textContent === 'Created sec.new.'", 10)
        .await;
    let row = f.web.wait("#users tr[data-username='sec.new']", 10).await;
    let text = f.web.text(&row).await;
    assert!(text.contains("secretary") && text.contains("ent") && text.contains("Active"), "{text}");
    assert_eq!(f.web.js("return document.querySelector('#nu-username-error').textContent", json!([])).await, "");
    assert_eq!(
        f.web.js("return document.querySelector('#nu-teams-ent').checked", json!([])).await,
        false,
        "the form is reset"
    );
    f.shot("users").await;
    let users = f.api("admin", "/api/v1/users").await;
    let new = users["items"].as_array().unwrap().iter().find(|u| u["username"] == "sec.new").expect("sec.new");
    assert_eq!(new["role"], "secretary", "{new}");
    assert_eq!(new["teams"], json!(["ent"]), "{new}");
    let new_id = new["id"].as_str().unwrap().to_string();

    // Edit: disable the account; a short password is refused at its field, a good one is set.
    f.web.click_css("button[aria-label='Edit sec.new']", 5).await;
    f.web.wait_js("the editor", "return document.activeElement.id === 'ed-heading'", 5).await;
    f.web.click_css("#ed-disabled", 5).await;
    f.web.click_css("#user-edit button[type=submit]", 5).await;
    f.web.wait_js("saved", "return document.querySelector('#ed-status').textContent === 'Saved sec.new.'", 10).await;
    f.web
        .wait_js(
            "disabled in the list",
            "return document.querySelector(\"#users tr[data-username='sec.new']\").textContent.includes('Disabled')",
            10,
        )
        .await;
    let u = f.api("admin", &format!("/api/v1/users/{new_id}")).await;
    assert_eq!(u["disabled"], true, "{u}");
    let pw = f.web.find("#ed-password").await.unwrap();
    f.web.type_into(&pw, "short").await;
    f.web.click_css("#user-password button[type=submit]", 5).await;
    f.web
        .wait_js(
            "the password error",
            "return document.querySelector('#ed-password-error').textContent.includes('characters') \
             && document.activeElement.id === 'ed-password'",
            10,
        )
        .await;
    f.web.type_into(&pw, " but now long enough").await;
    f.web.click_css("#user-password button[type=submit]", 5).await;
    f.web
        .wait_js(
            "password set",
            "return document.querySelector('#pw-status').textContent === 'Password set for sec.new.'",
            10,
        )
        .await;
    f.web.click_css("#ed-disabled", 5).await;
    f.web.click_css("#user-edit button[type=submit]", 5).await;
    f.web
        .wait_js(
            "enabled again",
            "return document.querySelector(\"#users tr[data-username='sec.new']\").textContent.includes('Active')",
            10,
        )
        .await;

    // Teams: a new team, a member added and removed.
    let team = f.web.find("#team-name").await.unwrap();
    f.web.type_into(&team, "cardiology").await;
    f.web.click_css("#team-new button[type=submit]", 5).await;
    let member = f.web.wait("#teams li[data-team='cardiology'] input", 10).await;
    f.web.type_into(&member, "sec.new").await;
    f.web.click_css("#teams li[data-team='cardiology'] button[type=submit]", 5).await;
    f.web.wait("button[aria-label='Remove sec.new from cardiology']", 10).await;
    let u = f.api("admin", &format!("/api/v1/users/{new_id}")).await;
    assert_eq!(u["teams"], json!(["cardiology", "ent"]), "{u}");
    let ticked = "return [...document.querySelectorAll('#ed-teams input:checked')].map(b => b.value)";
    let shown = f.web.js(ticked, json!([])).await;
    assert_eq!(shown, json!(["cardiology", "ent"]), "the open editor follows the membership");
    f.web.click_css("button[aria-label='Remove sec.new from cardiology']", 5).await;
    f.web
        .wait_js(
            "the member removed",
            "return !document.querySelector(\"button[aria-label='Remove sec.new from cardiology']\") \
             && document.querySelector(\"#teams li[data-team='cardiology']\")",
            10,
        )
        .await;
    let u = f.api("admin", &format!("/api/v1/users/{new_id}")).await;
    assert_eq!(u["teams"], json!(["ent"]), "{u}");
    assert_eq!(f.web.js(ticked, json!([])).await, json!(["ent"]));
    // In the editor: tick cardiology and untick ent, with the keyboard, and save.
    f.web.type_into(&f.web.find("#ed-teams-cardiology").await.unwrap(), " ").await;
    f.web.type_into(&f.web.find("#ed-teams-ent").await.unwrap(), " ").await;
    f.web.js("document.querySelector('#ed-status').textContent = ''", json!([])).await;
    f.web.click_css("#user-edit button[type=submit]", 5).await;
    f.web.wait_js("saved", "return document.querySelector('#ed-status').textContent === 'Saved sec.new.'", 10).await;
    let u = f.api("admin", &format!("/api/v1/users/{new_id}")).await;
    assert_eq!(u["teams"], json!(["cardiology"]), "{u}");
    f.web
        .wait_js(
            "the list shows the teams",
            "return document.querySelector(\"#users tr[data-username='sec.new']\").textContent.includes('cardiology')",
            10,
        )
        .await;

    // The creation is in the audit trail.
    f.web.click_css("a[href='/app/audit']", 5).await;
    let action = f.web.wait("#audit-action", 10).await;
    f.web.type_into(&action, "admin.user_create").await;
    f.web.click_css("#audit-search button[type=submit]", 5).await;
    let found = f
        .web
        .wait_js(
            "the creation in the audit trail",
            "const rows = [...document.querySelectorAll('#audit tbody tr')]; \
             return rows.length && rows.every(r => r.dataset.action === 'admin.user_create') \
             ? rows.map(r => r.textContent).find(t => t.includes('sec.new')) : null",
            10,
        )
        .await;
    assert!(found.as_str().unwrap().contains(&new_id), "the target is the new user: {found}");
    f.shot("audit").await;
    let audit = f.api("admin", "/api/v1/audit?action=admin.user_create").await;
    assert!(audit["items"].as_array().unwrap().iter().any(|r| r["target_id"] == new_id.as_str()), "{audit}");
    // Everything, ten at a time: "More" follows the cursor to older entries.
    f.web
        .js(
            "document.querySelector('#audit-action').value = ''; document.querySelector('#audit-limit').value = '10'",
            json!([]),
        )
        .await;
    f.web.click_css("#audit-search button[type=submit]", 5).await;
    f.web.wait_js("the first page", "return document.querySelectorAll('#audit tbody tr').length === 10 && !document.querySelector('#audit-more').hidden", 10).await;
    f.web.click_css("#audit-more", 5).await;
    let seqs = f
        .web
        .wait_js(
            "the second page",
            "const s = [...document.querySelectorAll('#audit tbody tr')].map(r => Number(r.dataset.seq)); return s.length > 10 ? s : null",
            10,
        )
        .await;
    let seqs: Vec<i64> = seqs.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {seqs:?}");

    // A closure on the calendar page.
    f.web.click_css("a[href='/app/calendar']", 5).await;
    f.web.wait("#closure-new", 10).await;
    f.web
        .wait_js("the recognition state", "return document.querySelector('#rec-state').textContent === 'Ready'", 10)
        .await;
    let model = f.web.text(&f.web.find("#rec-model").await.unwrap()).await;
    assert!(model.contains("tiny.en"), "{model}");
    let calendar = f.web.js("return document.querySelector('#cal-name').value", json!([])).await;
    let calendar = calendar.as_str().unwrap().to_string();
    f.web.click_css("#closure-new button[type=submit]", 5).await;
    f.web
        .wait_js(
            "the date error",
            "return document.querySelector('#closure-date-error').textContent.includes('date')",
            10,
        )
        .await;
    f.web.js("document.querySelector('#closure-date').value = '2030-07-15'", json!([])).await;
    f.web.type_into(&f.web.find("#closure-reason").await.unwrap(), "Ward move").await;
    f.web.click_css("#closure-new button[type=submit]", 5).await;
    let row = f.web.wait("#closures tr[data-date='2030-07-15']", 10).await;
    assert!(f.web.text(&row).await.contains("Ward move"));
    f.shot("calendar").await;
    let cal = f.api("admin", &format!("/api/v1/calendars/{calendar}")).await;
    let closures = cal["closures"].as_array().unwrap();
    assert!(closures.iter().any(|c| c["date"] == "2030-07-15" && c["reason"] == "Ward move"), "{cal}");
    f.web.click_css("button[aria-label='Remove the closure on 2030-07-15']", 5).await;
    f.web
        .wait_js("the closure removed", "return !document.querySelector(\"#closures tr[data-date='2030-07-15']\")", 10)
        .await;
    let cal = f.api("admin", &format!("/api/v1/calendars/{calendar}")).await;
    assert!(cal["closures"].as_array().unwrap().iter().all(|c| c["date"] != "2030-07-15"), "{cal}");
    // A range: a last day before the first is refused at that field, then two days close.
    f.web
        .js("document.querySelector('#closure-date').value = '2030-08-02'; document.querySelector('#closure-to').value = '2030-08-01'", json!([]))
        .await;
    f.web.type_into(&f.web.find("#closure-reason").await.unwrap(), "Audit days").await;
    f.web.click_css("#closure-new button[type=submit]", 5).await;
    f.web
        .wait_js(
            "the range error",
            "return document.querySelector('#closure-to-error').textContent.includes('before') && document.activeElement.id === 'closure-to'",
            10,
        )
        .await;
    f.web
        .js("document.querySelector('#closure-date').value = '2030-08-01'; document.querySelector('#closure-to').value = '2030-08-02'", json!([]))
        .await;
    f.web.click_css("#closure-new button[type=submit]", 5).await;
    f.web.wait("#closures tr[data-date='2030-08-02']", 10).await;
    f.web.wait("#closures tr[data-date='2030-08-01']", 10).await;
    let status = f.web.text(&f.web.find("#closure-status").await.unwrap()).await;
    assert_eq!(status, "Added 2 closed days.");
    f.sign_out().await;

    // Other roles have none of these pages.
    f.sign_in("lead.smith", "/app/board").await;
    for page in ["/app/users", "/app/audit", "/app/calendar"] {
        assert!(f.web.find(&format!("#nav a[href='{page}']")).await.is_err(), "{page} is not in a team lead's menu");
    }
    f.web.goto(&f.url("/app/users")).await;
    f.web.wait_js("refused", "return document.querySelector('main h1').textContent === 'Not available'", 10).await;
    assert!(f.web.find("#users").await.is_err());
    f.sign_out().await;
}
