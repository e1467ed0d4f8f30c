//! Browser tests: headless Chromium (through chromedriver) drives the web application on the
//! real server, with the real model recognising real corpus audio.
//!
//! Skipped with a printed reason when chromedriver/Chromium or the corpus are missing, unless
//! `DICTAFLOW_TEST_REQUIRE_BROWSER=1` (CI) makes a missing browser a failure.

mod admin;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod letters;
mod lexicon;
mod notify;
mod oversight;
mod recording;
mod roles;
#[allow(dead_code)]
#[path = "../api/s3_server.rs"]
mod s3_server;
mod webdriver;
mod workflow_editor;
mod working_day;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dictaflow::domain::Role;
use serde_json::Value;

use helpers::{Backend, TestApp, corpus_dir, spawn_app_with};
use webdriver::Driver;

const PASSWORD: &str = "correct horse battery";
const SPEECH: &str = "audio/onc-01__piper__wav-s16-16k.wav";

fn browser_required() -> bool {
    std::env::var("DICTAFLOW_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// chromedriver and Chromium, or `None` with the reason printed for the test named `what`
/// (a failure instead when `DICTAFLOW_TEST_REQUIRE_BROWSER=1`).
fn browser_or_skip(what: &str) -> Option<(PathBuf, PathBuf)> {
    match webdriver::browser_programs() {
        Ok(p) => Some(p),
        Err(reason) if !browser_required() => {
            eprintln!("skipping {what}: {reason} (install chromium and chromium-driver)");
            None
        }
        Err(reason) => panic!("DICTAFLOW_TEST_REQUIRE_BROWSER=1 but {reason}"),
    }
}

/// Serialises the browser tests: each runs a browser and a recognition on a small machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

async fn app_with_recognition(backend: Backend) -> Option<TestApp> {
    // Fetch the model first (as `dictaflow models fetch tiny.en` does) so the server is ready.
    // The quantized sibling is the model a super-user switches to.
    for name in ["tiny.en", "tiny.en-q8_0"] {
        let dir = model_dir();
        tokio::task::spawn_blocking(move || dictaflow::models::fetch(name, &dir))
            .await
            .expect("fetch task")
            .unwrap_or_else(|e| panic!("the {name} model for the browser tests: {e:#}"));
    }
    spawn_app_with(backend, |c| {
        c.stt.enabled = true;
        c.stt.models_dir = model_dir();
        c.stt.workers = 1;
        c.stt.threads = 2;
        c.stt.lease_seconds = 30;
    })
    .await
}

struct Flow {
    app: TestApp,
    web: Driver,
    shots: Option<PathBuf>,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl Flow {
    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            // Let layout and fonts settle.
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.web.screenshot(&dir.join(format!("{name}.png"))).await;
        }
    }

    async fn api(&self, who: &str, path: &str) -> Value {
        let (status, v) = self.app.get_json(&self.tokens[who], path).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    async fn sign_in(&self, username: &str, home: &str) {
        self.web.goto(&self.url("/")).await;
        let user = self.web.wait("input[name=username]", 10).await;
        if username == "dr.patel" {
            self.shot("sign-in").await;
        }
        self.web.type_into(&user, username).await;
        let pw = self.web.find("input[name=password]").await.unwrap();
        self.web.type_into(&pw, PASSWORD).await;
        self.web.click_css("form button[type=submit]", 5).await;
        let want = home.to_string();
        self.web.wait_js(&format!("the {home} page"), &format!("return location.pathname === {want:?}"), 10).await;
        self.web.wait("main h1", 10).await;
    }

    async fn sign_out(&self) {
        self.web.click_css("#who button", 5).await;
        self.web.wait("input[name=username]", 10).await;
    }
}

async fn setup(backend: Backend, shots: bool) -> Option<Flow> {
    let (driver, browser) = crate::browser_or_skip("the browser tests")?;
    corpus_dir()?;
    let app = app_with_recognition(backend).await?;
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("dr.patel", app.user("dr.patel", Role::Clinician, &["ent"]).await);
    tokens.insert("sec.jones", app.user("sec.jones", Role::Secretary, &["ent"]).await);
    tokens.insert("lead.smith", app.user("lead.smith", Role::TeamLead, &["ent"]).await);
    tokens.insert("admin", app.user("admin", Role::Superuser, &[]).await);
    let downloads = app.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let web = Driver::start(&driver, &browser, &downloads).await;
    // Every run saves its screenshots; they replace the README's (docs/screenshots) only
    // when asked, so a test run leaves the working tree clean.
    let shots = shots.then(|| {
        if std::env::var("DICTAFLOW_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
        } else {
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
        }
    });
    if let Some(dir) = &shots {
        std::fs::create_dir_all(dir).unwrap();
    }
    Some(Flow { app, web, shots, tokens })
}

async fn flows(backend: Backend, shots: bool) {
    use roles::*;
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(corpus) = corpus_dir() else { return };
    let Some(f) = setup(backend, shots).await else { return };
    let id = clinician_uploads(&f, &corpus).await;
    secretary_corrects(&f, &id).await;
    clinician_approves(&f, &id).await;
    secretary_dispatches(&f, &id).await;
    superuser_edits_workflow(&f).await;
    superuser_administers(&f).await;
    letters::superuser_edits_a_letter_template(&f, &id).await;
    admin::superuser_tunes_recognition(&f).await;
    admin::superuser_pages_on_a_phone(&f).await;
    team_lead_reports(&f, &id).await;
    lexicon::superuser_manages_the_lexicon(&f).await;
    lexicon::secretary_spell_checks(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_do_their_work_in_the_browser_sqlite() {
    flows(Backend::Sqlite, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_do_their_work_in_the_browser_postgres() {
    flows(Backend::Postgres, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_page_sqlite() {
    notify::notifications_page(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_page_postgres() {
    notify::notifications_page(Backend::Postgres).await;
}
