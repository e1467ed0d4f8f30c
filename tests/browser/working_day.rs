//! The secretary's and the clinician's day on one letter: the recognised words' marks in the
//! letter itself (following edits, the threshold from the settings, play from a word), the
//! foot pedal through the page's input-report handler, a returned letter's reason in the
//! queue and the editor, and the clinician's review on a 360 x 740 phone.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::Backend;
use crate::{Flow, SPEECH, setup};

async fn draft_ready(f: &Flow, corpus: &std::path::Path) -> String {
    let bytes = std::fs::read(corpus.join(SPEECH)).expect("the corpus file");
    let fields = [("patient_name", "Ann Example"), ("patient_nhs_number", "9434765919"), ("specialty", "Oncology")];
    let resp = f.app.upload(&f.tokens["dr.patel"], bytes, "clinic.wav", &fields).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    loop {
        let d = f.api("sec.jones", &format!("/api/v1/dictations/{id}")).await;
        if d["status"] == "drafted" {
            return id;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "no draft: {d}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn act(f: &Flow, who: &str, id: &str, action: &str, comment: &str) {
    let resp = f
        .app
        .client
        .post(f.url(&format!("/api/v1/dictations/{id}/actions/{action}")))
        .bearer_auth(&f.tokens[who])
        .json(&json!({"comment": comment}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{action}: {}", resp.text().await.unwrap_or_default());
}

async fn set_threshold(f: &Flow, t: f64) {
    let resp = f
        .app
        .client
        .put(f.url("/api/v1/settings/recognition"))
        .bearer_auth(&f.tokens["admin"])
        .json(&json!({"low_confidence_threshold": t}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// The marks as the page shows them: [text, start, low] for each.
async fn marks(f: &Flow) -> Vec<(String, f64, bool)> {
    let v = f
        .web
        .js(
            "return [...document.querySelectorAll('#draft-marks .w')].map((s) =>
               [s.textContent, Number(s.dataset.start), s.classList.contains('low')])",
            json!([]),
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| (m[0].as_str().unwrap().to_string(), m[1].as_f64().unwrap(), m[2].as_bool().unwrap()))
        .collect()
}

/// Where each mark is in the letter (UTF-16 offsets, as the textarea counts).
async fn mark_ranges(f: &Flow) -> Vec<(u64, u64)> {
    let v = f
        .web
        .js(
            "let at = 0; const out = [];
             for (const n of document.querySelector('#draft-marks').childNodes) {
               if (n.nodeType === 1 && n.classList.contains('w')) out.push([at, at + n.textContent.length]);
               at += n.textContent.length;
             }
             return out;",
            json!([]),
        )
        .await;
    v.as_array().unwrap().iter().map(|r| (r[0].as_u64().unwrap(), r[1].as_u64().unwrap())).collect()
}

async fn caret(f: &Flow, at: u64) {
    f.web
        .js(
            "const a = document.querySelector('#draft'); a.focus(); a.setSelectionRange(arguments[0], arguments[0]);",
            json!([at]),
        )
        .await;
}

async fn open_letter(f: &Flow, id: &str) {
    f.web.goto(&f.url(&format!("/app/dictations/{id}"))).await;
    f.web.wait("#draft", 20).await;
    f.web.wait_js("audio metadata", "return document.querySelector('#player').readyState >= 1", 20).await;
}

async fn the_letter_carries_the_words(f: &Flow, id: &str) {
    // The threshold set by the super-user decides what is marked, lowered as well as raised.
    set_threshold(f, 0.999).await;
    open_letter(f, id).await;
    f.web.click_css("button[data-action=claim]", 10).await;
    f.web.wait("#draft:not([readonly])", 10).await;
    let all = marks(f).await;
    assert!(all.len() >= 5, "the letter's words are timed: {all:?}");
    assert!(all.iter().filter(|m| m.2).count() * 10 >= all.len() * 9, "nearly all below 0.999: {all:?}");
    set_threshold(f, 0.001).await;
    open_letter(f, id).await;
    let before = marks(f).await;
    assert_eq!(before.iter().filter(|m| m.2).count(), 0, "none below 0.001");
    assert!(f.web.text(&f.web.find("#marks-help").await.unwrap()).await.contains("(below 0%)"));
    assert!(f.web.find("#words").await.is_err(), "no second text: the recognised words are in the letter");

    // Editing: text typed at the start moves every mark; an edited word loses its mark.
    let draft = f.web.wait("#draft:not([readonly])", 10).await;
    caret(f, 0).await;
    f.web.type_into(&draft, "Re ").await;
    let shifted = marks(f).await;
    assert_eq!(shifted, before, "the same words keep their marks after text typed before them");
    let (second, _, _) = before[1].clone();
    let ranges = mark_ranges(f).await;
    caret(f, ranges[1].1).await;
    f.web.type_into(&draft, "zz").await;
    let edited = marks(f).await;
    assert_eq!(edited.len(), before.len() - 1, "the edited word {second:?} lost its mark");
    assert_eq!(edited[0], before[0]);
    assert_eq!(edited[1..], before[2..], "the words after it keep theirs");
    let text = f.web.js("return document.querySelector('#draft').value", json!([])).await;
    assert!(text.as_str().unwrap().starts_with("Re "), "{text}");

    // Ctrl+Enter in a word plays from it, and the word being played is highlighted.
    let (word, start, _) = edited[3].clone();
    let ranges = mark_ranges(f).await;
    caret(f, ranges[3].0 + 1).await;
    f.web.type_into(&draft, &format!("{}{}", crate::webdriver::keys::CONTROL, crate::webdriver::keys::ENTER)).await;
    let t = f
        .web
        .wait_js("playing", "const a = document.querySelector('#player'); return !a.paused && a.currentTime", 10)
        .await;
    assert!((t.as_f64().unwrap() - start).abs() < 1.0, "played from {word:?} at {start}: {t}");
    f.web.wait_js("the word being played", "return document.querySelector('#draft-marks .w.current')", 10).await;
    f.web.js("document.querySelector('#player').pause()", json!([])).await;
    assert_eq!(marks(f).await.len(), edited.len(), "playing changes no text");
}

async fn the_pedal_drives_playback(f: &Flow) {
    // The report parsing of each known pedal, run in Chromium on the page's own module.
    let parsed = f
        .web
        .js_async(
            "const done = arguments[arguments.length - 1];
             import('/assets/js/pedals.js').then((m) => done(m.KNOWN.map((k) => [k.name, k.vendorId, k.productId,
               [1, 2, 4, 8, 6, 0].map((b) => [...m.parseReport(k.layout, new DataView(Uint8Array.of(b, 0).buffer))])])),
               (e) => done(String(e)));",
            json!([]),
        )
        .await;
    let philips = json!([["left"], ["middle"], ["right"], ["top"], ["middle", "right"], []]);
    let infinity = json!([["left"], ["middle"], ["right"], [], ["middle", "right"], []]);
    assert_eq!(
        parsed,
        json!([
            ["Philips ACC2310/ACC2320 foot control", 0x0911, 0x1844, philips],
            ["Philips ACC2330 foot control", 0x0911, 0x091a, philips],
            ["Infinity IN-USB-2/IN-USB-3 foot pedal", 0x05f3, 0x00ff, infinity],
        ])
    );

    // Synthetic input reports through the page's handler: hold to play, rewind while held.
    let report = |vendor: u16, product: u16, bytes: &str| {
        format!(
            "window.__pedal = window.__pedal || {{}};
             const key = '{vendor}:{product}';
             const device = window.__pedal[key] = window.__pedal[key] || {{ vendorId: {vendor}, productId: {product}, productName: 'Pedal' }};
             document.querySelector('#pedal').onInputReport({{ device, reportId: 0, data: new DataView(Uint8Array.of({bytes}).buffer) }});"
        )
    };
    let audio = |prop: &str| format!("return document.querySelector('#player').{prop}");
    f.web.wait("#pedal", 10).await;
    f.web.js(&report(0x0911, 0x1844, "2"), json!([])).await;
    f.web.wait_js("playing while held", "return !document.querySelector('#player').paused", 5).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    f.web.js(&report(0x0911, 0x1844, "0"), json!([])).await;
    f.web.wait_js("paused on release", &audio("paused"), 5).await;
    f.web.js("document.querySelector('#player').currentTime = 6", json!([])).await;
    f.web.js(&report(0x05f3, 0x00ff, "1, 0"), json!([])).await;
    let t = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!((t - 3.0).abs() < 0.3, "left pedal rewinds at once: {t}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    f.web.js(&report(0x05f3, 0x00ff, "0, 0"), json!([])).await;
    let held = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!(held < 0.5, "and goes on rewinding while held: {held}");

    // Hold-to-play on the keyboard too: F8 held plays, released pauses.
    f.web.click_css("#t-holdToPlay", 5).await;
    f.web.click_css("#draft", 5).await;
    let before = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    f.web.hold_key(crate::webdriver::keys::F8, 1500).await;
    f.web.wait_js("paused on release", &audio("paused"), 5).await;
    let after = f.web.js(&audio("currentTime"), json!([])).await.as_f64().unwrap();
    assert!(after > before + 0.5, "played while held: {before} -> {after}");
    f.web.click_css("#t-holdToPlay", 5).await;

    // Tap mode, kept on the server for this user.
    f.web
        .js(
            "const s = document.querySelector('#pedal-mode'); s.value = 'tap'; s.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    let saved = async || f.api("sec.jones", "/api/v1/auth/me/settings/pedal").await;
    for _ in 0..50 {
        if saved().await["mode"] == "tap" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(saved().await["mode"], "tap");
    f.web.js(&report(0x0911, 0x091a, "2"), json!([])).await;
    f.web.js(&report(0x0911, 0x091a, "0"), json!([])).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(f.web.js(&audio("paused"), json!([])).await, json!(false), "a tap plays on");
    f.web.js(&report(0x0911, 0x091a, "2"), json!([])).await;
    f.web.wait_js("a second tap pauses", &audio("paused"), 5).await;

    // An unknown pedal is taught by pressing each pedal in turn; the layout is kept.
    let (v, p) = (0x07b4, 0x0218);
    for bytes in ["0, 0", "0, 16", "0, 0", "0, 32", "0, 0", "0, 64", "0, 0"] {
        f.web.js(&report(v, p, bytes), json!([])).await;
    }
    f.web.wait_js("learnt", "return document.querySelector('#pedal-status').textContent.includes('learnt')", 5).await;
    for _ in 0..50 {
        if saved().await["learnt"]["07b4:0218"].is_object() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let learnt = saved().await;
    assert_eq!(
        learnt["learnt"]["07b4:0218"]["layout"],
        json!([{"pedal": "left", "byte": 1, "mask": 16}, {"pedal": "middle", "byte": 1, "mask": 32},
               {"pedal": "right", "byte": 1, "mask": 64}])
    );
    f.web.js(&report(v, p, "0, 32"), json!([])).await;
    f.web.wait_js("the taught middle pedal plays", "return !document.querySelector('#player').paused", 5).await;
    f.web.js(&report(v, p, "0, 0"), json!([])).await;
    f.web.js("document.querySelector('#player').pause()", json!([])).await;
}

async fn a_return_says_why(f: &Flow, id: &str) {
    f.web.wait_js("saved", "return document.querySelector('#save-status').textContent.startsWith('Saved')", 20).await;
    act(f, "sec.jones", id, "submit", "").await;
    act(f, "dr.patel", id, "return", "Please check the dose of the second drug").await;
    f.web.goto(&f.url("/app/queue")).await;
    let note = f.web.wait(&format!("#queue tr[data-id='{id}'] .returned-reason"), 20).await;
    let text = f.web.text(&note).await;
    assert!(text.contains("Returned by dr.patel") && text.contains("second drug"), "{text}");
    open_letter(f, id).await;
    let banner = f.web.text(&f.web.wait("#returned", 10).await).await;
    assert!(banner.contains("Please check the dose of the second drug"), "{banner}");
    act(f, "sec.jones", id, "submit", "").await;
}

/// The secretary's upload form names the clinician from a list; the letters list searches.
async fn pickers_and_search(f: &Flow, id: &str) {
    f.web.goto(&f.url("/app/dictations/new")).await;
    f.web
        .wait_js("the clinician picker", "return [...document.querySelectorAll('select#clinician option')].map((o) => o.value).join(',') === ',dr.patel'", 10)
        .await;
    f.web.goto(&f.url("/app/dictations")).await;
    let search = f.web.wait("#letters-search", 10).await;
    f.web.type_into(&search, "ann exam").await;
    f.web
        .wait_js("the letter found", &format!("const rows = document.querySelectorAll('#dictations tbody tr'); return rows.length === 1 && rows[0].dataset.id === '{id}'"), 10)
        .await;
    f.web.type_into(&search, "zzz").await;
    f.web.wait_js("nothing found", "return document.querySelectorAll('#dictations tbody tr').length === 0", 10).await;
}

async fn the_clinician_reviews_on_a_phone(f: &Flow, id: &str) {
    f.sign_in("dr.patel", "/app/dictations").await;
    // A 360 x 740 viewport: the window is made taller by what the browser's own frame takes.
    f.web.window_size(360, 740).await;
    let frame = f.web.js("return window.outerHeight - window.innerHeight", json!([])).await.as_u64().unwrap_or(0);
    f.web.window_size(360, 740 + frame as u32).await;
    open_letter(f, id).await;
    f.web.wait("button[data-action=approve]", 10).await;
    let m = f
        .web
        .js(
            "const top = (el) => el.getBoundingClientRect().top + window.scrollY;
             const approve = document.querySelector('button[data-action=approve]');
             return { overflow: document.documentElement.scrollWidth - window.innerWidth,
               letter: top(document.querySelector('#draft')),
               approve: approve.getBoundingClientRect().bottom + window.scrollY,
               screen: window.innerHeight, width: window.innerWidth,
               transport: !!document.querySelector('.transport, #pedal'),
               player: document.querySelector('#player').getBoundingClientRect().height };",
            json!([]),
        )
        .await;
    f.shot("phone-review").await;
    f.web.window_size(1280, 900).await;
    assert!(m["overflow"].as_f64().unwrap() <= 0.0, "no horizontal scrolling: {m}");
    assert_eq!((m["width"].as_f64(), m["screen"].as_f64()), (Some(360.0), Some(740.0)), "{m}");
    assert_eq!(m["transport"], false, "no transcription controls for the clinician: {m}");
    let (letter, approve, screen) =
        (m["letter"].as_f64().unwrap(), m["approve"].as_f64().unwrap(), m["screen"].as_f64().unwrap());
    assert!(letter < screen, "the letter starts on the first screen: {m}");
    assert!(approve - letter <= screen, "Approve within one screen of the letter's start: {m}");
}

async fn working_day(backend: Backend) {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let Some(corpus) = crate::helpers::corpus_dir() else { return };
    let Some(f) = setup(backend, true).await else { return };
    let id = draft_ready(&f, &corpus).await;
    f.sign_in("sec.jones", "/app/queue").await;
    the_letter_carries_the_words(&f, &id).await;
    the_pedal_drives_playback(&f).await;
    a_return_says_why(&f, &id).await;
    pickers_and_search(&f, &id).await;
    f.sign_out().await;
    the_clinician_reviews_on_a_phone(&f, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secretary_and_clinician_day_sqlite() {
    working_day(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secretary_and_clinician_day_postgres() {
    working_day(Backend::Postgres).await;
}
