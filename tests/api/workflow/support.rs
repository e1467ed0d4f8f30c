//! A team, a manual clock and helpers to drive letters through their workflow.

use dictaflow::clock::{Clock, parse_rfc3339};
use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, fixture, spawn_app_clocked};

/// Monday 2 March 2026, 10:00 in London (GMT).
pub const MONDAY_10AM: &str = "2026-03-02T10:00:00Z";
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// Runs each listed `async fn(Backend)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// The ENT department: a clinician, two secretaries, a team lead, a super-user, and a
/// cardiology secretary who must not see ENT letters.
pub struct Team {
    pub app: TestApp,
    pub patel: String,
    pub okafor: String,
    pub jones: String,
    pub brown: String,
    pub lead: String,
    pub admin: String,
    pub cardio: String,
}

pub async fn team(backend: Backend) -> Option<Team> {
    team_with(backend, |_| {}).await
}

/// [`team`] on a server configured by `tweak`.
pub async fn team_with(backend: Backend, tweak: impl FnOnce(&mut dictaflow::config::Config)) -> Option<Team> {
    let clock = Clock::manual(parse_rfc3339(MONDAY_10AM).unwrap());
    let app = spawn_app_clocked(backend, clock, tweak).await?;
    Some(Team {
        patel: app.user("dr.patel", Role::Clinician, &["ent"]).await,
        okafor: app.user("dr.okafor", Role::Clinician, &["ent"]).await,
        jones: app.user("sec.jones", Role::Secretary, &["ent"]).await,
        brown: app.user("sec.brown", Role::Secretary, &["ent"]).await,
        lead: app.user("lead", Role::TeamLead, &["ent"]).await,
        admin: app.user("admin", Role::Superuser, &[]).await,
        cardio: app.user("sec.cardio", Role::Secretary, &["cardio"]).await,
        app,
    })
}

impl Team {
    /// Uploads a letter as `token` with `priority`; returns its JSON.
    pub async fn upload(&self, token: &str, priority: &str) -> Value {
        let fields = [("priority", priority), ("specialty", "ENT"), ("letter_type", "clinic_letter")];
        let resp = self.app.upload(token, fixture("speech_3s.wav"), "a.wav", &fields).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    /// Uploads and finishes recognition; returns the id.
    pub async fn drafted(&self, token: &str, priority: &str) -> String {
        let id = self.upload(token, priority).await["id"].as_str().unwrap().to_string();
        self.recognise(&id).await;
        id
    }

    pub async fn recognise(&self, id: &str) {
        let s = &self.app.state;
        dictaflow::workflow::service::on_recognition_done(&s.db, &s.clock, id, "Dear Dr Smith, thank you.")
            .await
            .expect("recognition done");
    }

    pub async fn act(&self, token: &str, id: &str, action: &str, body: Value) -> (u16, Value) {
        let url = self.app.url(&format!("/api/v1/dictations/{id}/actions/{action}"));
        let resp = self.app.client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Takes an action that must succeed; returns the dictation after it.
    pub async fn ok(&self, token: &str, id: &str, action: &str, body: Value) -> Value {
        let (status, d) = self.act(token, id, action, body).await;
        assert_eq!(status, 200, "{action}: {d}");
        d
    }

    pub async fn get(&self, token: &str, id: &str) -> Value {
        let (status, d) = self.app.get_json(token, &format!("/api/v1/dictations/{id}")).await;
        assert_eq!(status, 200, "{d}");
        d
    }

    pub async fn history(&self, token: &str, id: &str) -> Vec<Value> {
        let (status, h) = self.app.get_json(token, &format!("/api/v1/dictations/{id}/history")).await;
        assert_eq!(status, 200, "{h}");
        h.as_array().unwrap().clone()
    }

    pub async fn queue_ids(&self, token: &str) -> Vec<String> {
        let (status, q) = self.app.get_json(token, "/api/v1/queue").await;
        assert_eq!(status, 200, "{q}");
        q["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect()
    }

    pub async fn put_yaml(&self, token: &str, path: &str, yaml: &str) -> (u16, Value) {
        let resp = self
            .app
            .client
            .put(self.app.url(path))
            .bearer_auth(token)
            .header("content-type", "application/yaml")
            .body(yaml.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub fn advance(&self, ms: i64) {
        self.app.state.clock.advance_ms(ms);
    }

    pub async fn fire(&self) -> usize {
        let s = &self.app.state;
        dictaflow::workflow::service::scheduler::fire_due_timers(&s.db, s.clock.now_ms()).await.unwrap().fired.len()
    }

    /// Sets the caller's notification settings; returns what the server answered.
    pub async fn notify_settings(&self, token: &str, body: Value) -> (u16, Value) {
        let url = self.app.url("/api/v1/me/notification-settings");
        let resp = self.app.client.put(url).bearer_auth(token).json(&body).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn notifications(&self, token: &str) -> Vec<Value> {
        let (status, n) = self.app.get_json(token, "/api/v1/notifications").await;
        assert_eq!(status, 200, "{n}");
        n["items"].as_array().unwrap().clone()
    }
}

pub fn comment(text: &str) -> Value {
    json!({ "comment": text })
}
