//! A recording that cannot be lost (Chromium's fake microphone): the warning before leaving or
//! recording over it, Send while recording, the upload resumed after the network dropped
//! mid-way, and a recording kept in the browser offered again after the tab was left.

use std::time::Duration;

use dictaflow::domain::Role;
use serde_json::{Value, json};
use sqlx::Row;

use crate::Flow;
use crate::helpers::{Backend, spawn_app_with};
use crate::webdriver::Driver;

/// The chunk size the server suggests here: small, so a few seconds of audio is many chunks.
const CHUNK: u64 = 2048;

async fn setup(backend: Backend) -> Option<Flow> {
    let (driver, browser) = crate::browser_or_skip("the recording browser test")?;
    let app = spawn_app_with(backend, |c| c.limits.upload_chunk_bytes = CHUNK).await?;
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("dr.patel", app.user("dr.patel", Role::Clinician, &["ent"]).await);
    let downloads = app.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let web = Driver::start(&driver, &browser, &downloads).await;
    Some(Flow { app, web, shots: None, tokens })
}

async fn count(f: &Flow, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&f.app.state.db.pool).await.unwrap().get(0)
}

/// The recordings kept in this browser's IndexedDB.
async fn kept(f: &Flow) -> usize {
    let v = f
        .web
        .js_async(
            "const done = arguments[arguments.length - 1];
             import('/assets/js/kept_recordings.js').then((m) => m.keptFor('dr.patel'))
               .then((all) => done(all.length), (e) => done(String(e)));",
            json!([]),
        )
        .await;
    v.as_u64().unwrap_or_else(|| panic!("IndexedDB: {v}")) as usize
}

async fn record_for(f: &Flow, ms: u64) {
    f.web.click_css("#rec-start", 10).await;
    f.web.wait_js("recording", "return document.querySelector('#rec-status').textContent === 'Recording…'", 10).await;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn open_new(f: &Flow) {
    f.web.goto(&f.url("/app/dictations/new")).await;
    f.web.wait("#rec-start", 10).await;
}

async fn recording_is_never_lost(backend: Backend) {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let Some(f) = setup(backend).await else { return };
    f.sign_in("dr.patel", "/app/dictations").await;
    open_new(&f).await;

    // The elapsed time runs while recording.
    record_for(&f, 1500).await;
    let elapsed = f.web.text(&f.web.find("#rec-time").await.unwrap()).await;
    assert!(elapsed.starts_with("0:0") && elapsed != "0:00", "elapsed time shown: {elapsed}");

    // Leaving asks first; staying keeps the recording going.
    let mine = f.web.find("a[href='/app/dictations']").await.unwrap();
    f.web.click_opening_dialog(&mine).await;
    let question = f.web.dialog_text(5).await;
    assert!(question.contains("has not been sent"), "{question}");
    f.web.answer_dialog(false).await;
    assert_eq!(f.web.current_path().await, "/app/dictations/new");
    f.web
        .wait_js("still recording", "return document.querySelector('#rec-status').textContent === 'Recording…'", 5)
        .await;
    assert_eq!(kept(&f).await, 1, "the chunks so far are kept in the browser");

    // Send while recording: it stops and sends what was recorded.
    f.web.click_css("form button[type=submit]", 5).await;
    f.web.wait_js("the list", "return location.pathname === '/app/dictations'", 30).await;
    let d = f.api("dr.patel", "/api/v1/dictations").await;
    let first = &d["items"][0];
    assert_eq!(first["audio"]["container"], "webm", "{first}");
    assert!(first["audio"]["duration_seconds"].as_f64().unwrap() > 1.0, "{first}");
    assert_eq!(kept(&f).await, 0, "the browser's copy goes once the server answered 201");

    // Recording again over an unsent recording asks first.
    open_new(&f).await;
    record_for(&f, 1000).await;
    f.web.click_css("#rec-stop", 5).await;
    f.web.wait_js("playback", "return !document.querySelector('#rec-playback').hidden", 10).await;
    let status = f.web.text(&f.web.find("#rec-status").await.unwrap()).await;
    assert!(status.starts_with("Recorded 0:0") && status.contains("KB"), "duration and size shown: {status}");
    let again = f.web.find("#rec-start").await.unwrap();
    f.web.click_opening_dialog(&again).await;
    assert!(f.web.dialog_text(5).await.contains("Discard it and record again?"));
    f.web.answer_dialog(false).await;
    f.web.wait_js("the recording kept", "return !document.querySelector('#rec-playback').hidden", 5).await;

    // The tab is left (a full page load, as a closed tab): the page asks the browser to
    // confirm (its beforeunload handler cancels the unload), and the recording is offered
    // again on the next visit.
    let asks = f.web.js(
        "const ev = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(ev); return ev.defaultPrevented;",
        json!([]),
    );
    assert_eq!(asks.await, json!(true), "leaving the page with an unsent recording asks first");
    f.web.js("setTimeout(() => { location.href = '/app/dictations'; }, 0)", json!([])).await;
    let started = std::time::Instant::now();
    while f.web.current_path().await != "/app/dictations" {
        // Headless Chromium may show the browser's own "Leave site?" prompt: leave.
        if f.web.dialog_open().await {
            f.web.answer_dialog(true).await;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the page was not left");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.web.wait("#dictations", 10).await;
    open_new(&f).await;
    f.web.wait("#kept #kept-use", 10).await;
    f.web.click_css("#kept-use", 5).await;
    f.web.wait_js("the kept recording", "return !document.querySelector('#rec-playback').hidden", 5).await;

    // Sending it over a slow network that drops mid-way: the upload waits and resumes.
    f.web.network(false, 4096).await;
    f.web.click_css("form button[type=submit]", 5).await;
    let received = "SELECT COALESCE(MAX(received), 0) FROM upload_sessions WHERE dictation_id IS NULL";
    let started = std::time::Instant::now();
    while count(&f, received).await < CHUNK as i64 {
        assert!(started.elapsed() < Duration::from_secs(30), "no chunk arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f.web.network(true, 4096).await;
    f.web
        .wait_js("the offline note", "return document.querySelector('#send-progress.offline:not([hidden])')", 20)
        .await;
    let at_drop = count(&f, received).await;
    let length = count(&f, "SELECT MAX(length) FROM upload_sessions WHERE dictation_id IS NULL").await;
    assert!(at_drop < length, "the drop came mid-way: {at_drop} of {length}");
    assert_eq!(kept(&f).await, 1, "kept while the network is away");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    f.web.network(false, 10_000_000).await;
    f.web.wait_js("the list", "return location.pathname === '/app/dictations'", 60).await;
    assert_eq!(count(&f, "SELECT COUNT(*) FROM dictations").await, 2);
    assert_eq!(count(&f, "SELECT COUNT(*) FROM upload_sessions WHERE dictation_id IS NULL").await, 0);
    let d: Value = f.api("dr.patel", "/api/v1/dictations").await;
    assert_eq!(d["items"][0]["audio"]["bytes"].as_i64(), Some(length), "all of it, once");
    assert_eq!(kept(&f).await, 0);
    new_dictation_fits_a_phone(&f).await;
}

/// New dictation on a 360 px phone: nothing wider than the screen.
async fn new_dictation_fits_a_phone(f: &Flow) {
    f.web.window_size(360, 740).await;
    let frame = f.web.js("return window.outerHeight - window.innerHeight", json!([])).await.as_u64().unwrap_or(0);
    f.web.window_size(360, 740 + frame as u32).await;
    open_new(f).await;
    let overflow = f.web.js("return document.documentElement.scrollWidth - window.innerWidth", json!([])).await;
    f.web.window_size(1280, 900).await;
    assert!(overflow.as_i64().unwrap() <= 0, "New dictation is {overflow} px wider than a 360 px screen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_is_never_lost_sqlite() {
    recording_is_never_lost(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_is_never_lost_postgres() {
    recording_is_never_lost(Backend::Postgres).await;
}
