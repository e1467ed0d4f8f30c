//! Oversight in the browser: the team lead's board (load per person with idle members, open
//! letters most late first), reassigning with the picker (one letter and a selection),
//! absences recorded ahead, shown on the day view, edited and cancelled, the breaches page,
//! and the read-only manager's board and dashboard. No recognition: letters are drafted
//! directly, on a server clock ten days behind so that they are late when it catches up.

use serde_json::json;

use dictaflow::clock::Clock;
use dictaflow::domain::Role;

use super::helpers::{Backend, TestApp, fixture, spawn_app_clocked};
use super::webdriver::Driver;
use super::{Flow, ONE_AT_A_TIME};

const DAY: i64 = 86_400_000;

async fn drafted(app: &TestApp, token: &str, priority: &str) -> String {
    let fields = [("priority", priority), ("specialty", "ENT"), ("letter_type", "clinic_letter")];
    let resp = app.upload(token, fixture("speech_3s.wav"), "a.wav", &fields).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let s = &app.state;
    dictaflow::workflow::service::on_recognition_done(&s.db, &s.clock, &id, "Dear Dr Smith, thank you.").await.unwrap();
    id
}

async fn setup(backend: Backend) -> Option<Flow> {
    let (driver, browser) = crate::browser_or_skip("the oversight browser test")?;
    let real_now = Clock::system().now_ms();
    let app = spawn_app_clocked(backend, Clock::manual(real_now - 10 * DAY), |_| {}).await?;
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("dr.patel", app.user("dr.patel", Role::Clinician, &["ent"]).await);
    tokens.insert("sec.jones", app.user("sec.jones", Role::Secretary, &["ent"]).await);
    tokens.insert("sec.brown", app.user("sec.brown", Role::Secretary, &["ent"]).await);
    tokens.insert("lead.smith", app.user("lead.smith", Role::TeamLead, &["ent"]).await);
    tokens.insert("manager", app.user("manager", Role::Manager, &["ent"]).await);
    tokens.insert("admin", app.user("admin", Role::Superuser, &[]).await);
    let downloads = app.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let web = Driver::start(&driver, &browser, &downloads).await;
    Some(Flow { app, web, shots: None, tokens })
}

/// Picks `who` in the open picker and confirms.
async fn pick(f: &Flow, who: &str) {
    f.web.wait("#picker input[name=picker-person]", 10).await;
    f.web.click_css(&format!("#picker input[value='{who}']"), 5).await;
    f.web.click_css("#picker-go", 5).await;
    f.web.wait_js("the picker to close", "return !document.querySelector('#picker')", 10).await;
}

async fn holder(f: &Flow, id: &str) -> String {
    f.api("lead.smith", &format!("/api/v1/dictations/{id}")).await["assignee"].as_str().unwrap_or("").to_string()
}

async fn oversight_flow(backend: Backend) {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(f) = setup(backend).await else { return };
    let patel = f.tokens["dr.patel"].clone();
    let ids = [
        drafted(&f.app, &patel, "urgent").await,
        drafted(&f.app, &patel, "routine").await,
        drafted(&f.app, &patel, "routine").await,
    ];
    f.app.state.clock.advance_ms(10 * DAY);

    // The board: everyone in ENT (Brown holds nothing) and the open letters, most late first.
    f.sign_in("lead.smith", "/app/board").await;
    f.web.wait("#load tr[data-user='sec.brown']", 10).await;
    let brown = f.web.text(&f.web.find("#load tr[data-user='sec.brown']").await.unwrap()).await;
    assert!(brown.contains("sec.brown") && brown.contains("Present"), "{brown}");
    f.web.wait("#risk-letters tbody tr[data-state='breached']", 10).await;
    let first = f.web.js("return document.querySelector('#risk-letters tbody tr').dataset.id", json!([])).await;
    assert_eq!(first, json!(ids[0]), "the urgent letter is the most late");
    let row = f.web.text(&f.web.find("#risk-letters tbody tr").await.unwrap()).await;
    assert!(row.contains("Breached") && row.contains("working days late") && row.contains("Urgent"), "{row}");

    // One letter with the picker: the idle secretary is offered with her load.
    f.web.click_css(&format!("#risk-letters tr[data-id='{}'] td:last-child button", ids[0]), 5).await;
    f.web.wait("#picker input[value='sec.brown']", 10).await;
    let offered = f.web.text(&f.web.find("#picker").await.unwrap()).await;
    assert!(offered.contains("sec.brown — 0 open") && offered.contains("sec.jones"), "{offered}");
    assert!(!offered.contains("dr.patel"), "a clinician does not correct letters: {offered}");
    pick(&f, "sec.brown").await;
    assert_eq!(holder(&f, &ids[0]).await, "sec.brown");

    // A selection at once.
    for id in &ids[1..] {
        f.web.click_css(&format!("#risk-letters tr[data-id='{id}'] input[type=checkbox]"), 10).await;
    }
    f.web.click_css("#risk-bulk", 5).await;
    pick(&f, "sec.jones").await;
    for id in &ids[1..] {
        assert_eq!(holder(&f, id).await, "sec.jones");
    }
    f.web
        .wait_js(
            "the load to follow",
            "const r = document.querySelector(\"#load tr[data-user='sec.jones']\"); return r && r.cells[2].textContent === '2'",
            10,
        )
        .await;

    // An absence booked ahead, seen on the day view, then cancelled.
    let set = "const [sel, v] = arguments; const e = document.querySelector(sel); e.value = v; \
               e.dispatchEvent(new Event('change', {bubbles: true}));";
    let tomorrow =
        f.web.js("const d = new Date(Date.now() + 86400000); return d.toISOString().slice(0, 10)", json!([])).await;
    let tomorrow = tomorrow.as_str().unwrap().to_string();
    f.web.type_into(&f.web.find("#abs-user").await.unwrap(), "sec.brown").await;
    f.web.js(set, json!(["#abs-from", format!("{tomorrow}T09:00")])).await;
    f.web.js(set, json!(["#abs-to", format!("{tomorrow}T17:00")])).await;
    f.web.type_into(&f.web.find("#abs-cover").await.unwrap(), "sec.jones").await;
    f.web.click_css("form.card button[type=submit]", 5).await;
    f.web
        .wait_js(
            "the absence",
            "return document.querySelector('#abs-result').textContent.includes('when it starts')",
            10,
        )
        .await;
    f.web.wait("#absences tbody tr[data-id]", 10).await;
    let listed = f.web.text(&f.web.find("#absences tbody tr").await.unwrap()).await;
    assert!(listed.contains("sec.brown") && listed.contains("sec.jones") && listed.contains("Ahead"), "{listed}");
    f.web.js(set, json!(["#abs-day", tomorrow])).await;
    f.web
        .wait_js(
            "the day view",
            "return document.querySelector('#abs-day-list').textContent.includes('sec.jones covers')",
            10,
        )
        .await;
    f.web.js("window.confirm = () => true", json!([])).await;
    f.web.click_css("#absences tbody tr[data-id] td:last-child button:last-child", 5).await;
    f.web
        .wait_js(
            "the cancellation",
            "return document.querySelector('#absences tbody').textContent.includes('Nobody is away')",
            10,
        )
        .await;
    assert!(f.api("lead.smith", "/api/v1/absences").await["items"].as_array().unwrap().is_empty());

    // The breaches page: totals and the most late first.
    f.web.click_css("a[href='/app/breaches']", 5).await;
    f.web
        .wait_js("the summary", "return document.querySelector('#risk-summary').textContent.includes('breached')", 10)
        .await;
    let summary = f.web.text(&f.web.find("#risk-summary").await.unwrap()).await;
    assert!(summary.starts_with("3 open letters past or near the due time"), "{summary}");
    f.sign_out().await;

    // The manager reads the board and the dashboard, and changes nothing.
    f.sign_in("manager", "/app/board").await;
    f.web.wait("#risk-letters tbody tr", 10).await;
    let controls = f
        .web
        .js(
            "return document.querySelectorAll('#risk-letters button, #abs-user, #risk-bulk:not([hidden])').length",
            json!([]),
        )
        .await;
    assert_eq!(controls, json!(0), "no reassign or absence controls for a manager");
    f.web.click_css("a[href='/app/dashboard']", 5).await;
    f.web.wait("#breaches tbody tr[data-id]", 15).await;
    let note = f.web.text(&f.web.find("#breaches-note").await.unwrap()).await;
    assert!(note.starts_with("3 open letters are past the due time"), "{note}");
    let summary = f.web.text(&f.web.find("#summary").await.unwrap()).await;
    assert!(summary.contains('%') && summary.contains("Urgent"), "{summary}");
    assert!(!summary.contains("urgent"), "priority names as words: {summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_and_managers_oversee_turnaround_sqlite() {
    oversight_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_and_managers_oversee_turnaround_postgres() {
    oversight_flow(Backend::Postgres).await;
}
