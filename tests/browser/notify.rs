//! The notifications page in the browser: the unread count beside the navigation, the
//! list with mark-as-read (one and all) and the unread filter, the email settings with an
//! error shown at its field, and the weekly reports kept for download. And the calendar
//! page's warning for a calendar whose bank holidays run out within a year.

use dictaflow::clock::{Clock, parse_rfc3339};
use dictaflow::domain::Role;
use serde_json::json;

use crate::helpers::{Backend, fixture, spawn_app_clocked};
use crate::{Flow, ONE_AT_A_TIME, webdriver};

const DAY: i64 = 86_400_000;

async fn upload(f: &Flow) -> String {
    let fields = [("priority", "routine"), ("specialty", "ENT"), ("letter_type", "clinic_letter")];
    let resp = f.app.upload(&f.tokens["dr.patel"], fixture("speech_3s.wav"), "a.wav", &fields).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let s = &f.app.state;
    dictaflow::workflow::service::on_recognition_done(&s.db, &s.clock, &id, "Dear Dr Smith, thank you.").await.unwrap();
    id
}

async fn act(f: &Flow, who: &str, id: &str, action: &str, body: serde_json::Value) {
    let url = f.url(&format!("/api/v1/dictations/{id}/actions/{action}"));
    let resp = f.app.client.post(url).bearer_auth(&f.tokens[who]).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{action}");
}

async fn setup(backend: Backend) -> Option<Flow> {
    let (driver, browser) = crate::browser_or_skip("the notifications browser test")?;
    // Monday 2 March 2026, 10:00.
    let clock = Clock::manual(parse_rfc3339("2026-03-02T10:00:00Z").unwrap());
    let calendars = tempfile::tempdir().unwrap();
    let short = "name: trust-short\nbank_holidays:\n  2026-05-04: Early May bank holiday\n";
    std::fs::write(calendars.path().join("trust-short.yaml"), short).unwrap();
    let dir = calendars.path().to_path_buf();
    let app = spawn_app_clocked(backend, clock, |c| c.calendars.dir = Some(dir)).await?;
    // The files are read at start.
    drop(calendars);
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("dr.patel", app.user("dr.patel", Role::Clinician, &["ent"]).await);
    tokens.insert("sec.jones", app.user("sec.jones", Role::Secretary, &["ent"]).await);
    tokens.insert("lead.smith", app.user("lead.smith", Role::TeamLead, &["ent"]).await);
    tokens.insert("admin", app.user("admin", Role::Superuser, &[]).await);
    let downloads = app.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let web = webdriver::Driver::start(&driver, &browser, &downloads).await;
    Some(Flow { app, web, shots: None, tokens })
}

pub async fn notifications_page(backend: Backend) {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(f) = setup(backend).await else { return };
    // Three letters; one returned to Jones. On Friday their warnings reach the team lead;
    // on Monday morning the weekly report of the week is made.
    let ids = [upload(&f).await, upload(&f).await, upload(&f).await];
    act(&f, "sec.jones", &ids[0], "claim", json!({})).await;
    act(&f, "sec.jones", &ids[0], "submit", json!({})).await;
    act(&f, "dr.patel", &ids[0], "return", json!({"comment": "Please check the dose."})).await;
    let s = &f.app.state;
    s.clock.advance_ms(4 * DAY);
    dictaflow::workflow::service::scheduler::fire_due_timers(&s.db, s.clock.now_ms()).await.unwrap();
    s.clock.advance_ms(3 * DAY - 2 * 3_600_000);
    dictaflow::notify::weekly::run_due(&s.db, &s.config.notify, s.clock.now_ms()).await.unwrap();

    // Warnings and breaches of the letters and their stages.
    let n = f.api("lead.smith", "/api/v1/notifications/unread-count").await["unread"].as_i64().unwrap();
    assert!(n >= 3, "{n}");
    f.sign_in("lead.smith", "/app/board").await;
    let badge = format!("return document.querySelector('#unread-badge').textContent === '{n}'");
    f.web.wait_js("the unread count", &badge, 10).await;
    f.web.click_css("a[href='/app/notifications']", 5).await;
    let rows = "document.querySelectorAll('#notifications tbody tr')";
    f.web
        .wait_js(
            "the escalations",
            &format!(
                "return {rows}.length === {n} && document.querySelector('#unread-count').textContent === '{n} unread notifications.'"
            ),
            10,
        )
        .await;
    let first = f.web.text(&f.web.find("#notifications tbody tr").await.unwrap()).await;
    assert!(first.contains("Turnaround") && first.contains("Open the letter"), "{first}");
    f.web.click_css("#notifications tbody tr button", 5).await;
    let left = n - 1;
    f.web
        .wait_js(
            "one marked read",
            &format!(
                "return document.querySelector('#unread-count').textContent === '{left} unread notifications.' \
                 && document.querySelector('#unread-badge').textContent === '{left}'"
            ),
            10,
        )
        .await;
    f.web.click_css("#only-unread", 5).await;
    f.web.wait_js("the unread only", &format!("return {rows}.length === {left}"), 10).await;
    f.web.click_css("#read-all", 5).await;
    f.web
        .wait_js(
            "all read",
            "return document.querySelector('#unread-count').textContent === 'No unread notifications.' \
             && document.querySelector('#unread-badge').hidden",
            10,
        )
        .await;

    // Email settings: a wrong address is refused at its field; a right one is saved.
    let email = f.web.wait("#notify-email", 5).await;
    f.web.type_into(&email, "not-an-address").await;
    f.web.click_css("#notify-digest", 5).await;
    f.web.click_css("#notify-settings button[type=submit]", 5).await;
    f.web
        .wait_js(
            "the address error",
            "return document.querySelector('#notify-email-error').textContent.includes('address') \
             && document.activeElement.id === 'notify-email'",
            10,
        )
        .await;
    f.web.js("document.querySelector('#notify-email').value = ''", json!([])).await;
    f.web.type_into(&email, "lead.smith@trust.example").await;
    f.web.click_css("#notify-settings button[type=submit]", 5).await;
    f.web.wait_js("saved", "return document.querySelector('#notify-status').textContent === 'Saved.'", 10).await;
    let saved = f.api("lead.smith", "/api/v1/me/notification-settings").await;
    assert_eq!(
        (saved["email"].as_str(), saved["daily_digest"].as_bool()),
        (Some("lead.smith@trust.example"), Some(true))
    );

    // The week's report is listed for download.
    let row = f.web.text(&f.web.wait("#weekly-list tbody tr", 10).await).await;
    assert!(row.contains("Week of 2 Mar 2026"), "{row}");
    let csv = f.web.js("return document.querySelector('#weekly-list a[href$=\"format=csv\"]').href", json!([])).await;
    let resp = f.app.client.get(csv.as_str().unwrap()).bearer_auth(&f.tokens["lead.smith"]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().starts_with("section,name,received"));
    f.sign_out().await;

    // The secretary sees the letter returned to her, and no reports.
    f.sign_in("sec.jones", "/app/queue").await;
    f.web.wait_js("her unread count", "return document.querySelector('#unread-badge').textContent === '1'", 10).await;
    f.web.click_css("a[href='/app/notifications']", 5).await;
    f.web.wait_js("her notification", &format!("return {rows}.length === 1"), 10).await;
    let row = f.web.text(&f.web.find("#notifications tbody tr").await.unwrap()).await;
    assert!(row.contains("Returned to you") && !row.contains("dose"), "{row}");
    let href =
        f.web.js("return document.querySelector('#notifications tbody tr a').getAttribute('href')", json!([])).await;
    assert_eq!(href, format!("/app/dictations/{}", ids[0]));
    let reports = f.web.js("return document.querySelector('#weekly-reports').textContent", json!([])).await;
    assert_eq!(reports, "");
    assert_eq!(f.web.js("return document.querySelector('#notify-weekly-field').hidden", json!([])).await, true);
    f.sign_out().await;

    // The super-user's calendar page shows a calendar's working days and its warning.
    f.sign_in("admin", "/app/workflows").await;
    f.web.goto(&f.url("/app/calendar")).await;
    f.web.wait("#cal-info", 10).await;
    f.web.wait_js("no warning for England and Wales", "return document.querySelector('#cal-warning').hidden", 10).await;
    f.web
        .js(
            "const s = document.querySelector('#cal-name'); s.value = 'trust-short'; \
             s.dispatchEvent(new Event('change'))",
            json!([]),
        )
        .await;
    let warning = f.web.text(&f.web.wait("#cal-warning", 10).await).await;
    assert_eq!(
        warning,
        "calendar trust-short lists bank holidays only until 4 May 2026: add the following years' to its file"
    );
    let info = f.web.text(&f.web.find("#cal-info").await.unwrap()).await;
    assert!(info.contains("on Monday, Tuesday, Wednesday, Thursday, Friday"), "{info}");
}
