//! `spawn_app`: the real server on port 0 with a fresh database (SQLite file or a new PostgreSQL database).

use std::path::{Path, PathBuf};

use dictaflow::api::AppState;
use dictaflow::clock::Clock;
use dictaflow::config::{Config, Secret};
use dictaflow::domain::Role;
use dictaflow::storage::users::{self, NewUser};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("DICTAFLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn postgres_required() -> bool {
    std::env::var("DICTAFLOW_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Creates a uniquely named database and returns its URL, or `None` (with a
/// printed reason) when PostgreSQL is unreachable and not required.
pub async fn fresh_pg_database() -> Option<(String, String)> {
    use sqlx::Connection;
    use sqlx::Executor;
    let admin = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if !postgres_required() => {
            eprintln!("skipping the PostgreSQL variant: cannot connect to {admin}: {e}");
            return None;
        }
        Err(e) => panic!("PostgreSQL is required (DICTAFLOW_TEST_REQUIRE_POSTGRES=1) but {admin} is unreachable: {e}"),
    };
    let name = format!("dictaflow_test_{}", uuid::Uuid::now_v7().simple());
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
    Some((format!("{base}/{name}"), name))
}

pub fn drop_pg_database(name: &str) {
    let name = name.to_string();
    // Drop may run outside a runtime; use a private one on a plain thread.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            use sqlx::{Connection, Executor};
            if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
            }
        })
    })
    .join();
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    #[allow(dead_code)]
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    shutdown: CancellationToken,
    pg_name: Option<String>,
    /// The S3 server holding the audio, for apps on a bucket (`spawn_app_s3`).
    pub s3: Option<crate::s3_server::S3Server>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(name) = &self.pg_name {
            drop_pg_database(name);
        }
    }
}

pub fn test_config(dir: &Path, database_url: Option<String>) -> Config {
    let mut config = Config::default();
    config.storage.data_dir = dir.to_path_buf();
    if let Some(url) = database_url {
        config.storage.database_url = Secret::new(url);
    }
    config.storage.max_connections = Some(8);
    config.server.shutdown_grace_seconds = 2;
    // Recognition is switched on by the tests that are about it.
    config.stt.enabled = false;
    config
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    spawn_app_clocked(backend, Clock::system(), tweak).await
}

/// `spawn_app_with` on an injected clock (e.g. `Clock::manual`).
pub async fn spawn_app_clocked(backend: Backend, clock: Clock, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        dictaflow::telemetry::init(&Default::default());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg_name) = match backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let (url, name) = fresh_pg_database().await?;
            (Some(url), Some(name))
        }
    };
    let mut config = test_config(dir.path(), url);
    tweak(&mut config);
    let state = dictaflow::server::build_state(config, clock).await.expect("server state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    tokio::spawn(dictaflow::server::run(listener, state.clone(), shutdown.clone()));
    Some(TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        state,
        backend,
        dir,
        shutdown,
        pg_name,
        s3: None,
    })
}

/// `spawn_app_with` keeping the audio in a bucket of a fresh S3 server (`None`, with a
/// printed reason, when there is no S3 server or no PostgreSQL and neither is required).
pub async fn spawn_app_s3(backend: Backend, clock: Clock, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let s3 = crate::s3_server::S3Server::start().await?;
    let mut app = spawn_app_clocked(backend, clock, |c| {
        s3.configure(c);
        tweak(c);
    })
    .await?;
    app.s3 = Some(s3);
    Some(app)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user with a password and returns an API token for them.
    pub async fn user(&self, username: &str, role: Role, teams: &[&str]) -> String {
        let teams: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
        let hash = dictaflow::auth::hash_password("correct horse battery").unwrap();
        let now = self.state.clock.now_ms();
        let mut tx = self.state.db.begin_write().await.unwrap();
        let new = NewUser { username, display_name: "", role, password_hash: Some(&hash), teams: &teams };
        let id = users::insert_user(&mut tx, &new, now).await.unwrap();
        tx.commit().await.unwrap();
        let (token, token_hash) = dictaflow::auth::new_token();
        users::insert_token(&self.state.db, &id, &token_hash, "api", now, None).await.unwrap();
        token
    }

    pub async fn upload(
        &self,
        token: &str,
        bytes: Vec<u8>,
        filename: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.upload_with_key(token, bytes, filename, fields, None).await
    }

    pub async fn upload_with_key(
        &self,
        token: &str,
        bytes: Vec<u8>,
        filename: &str,
        fields: &[(&str, &str)],
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str("application/octet-stream")
            .unwrap();
        form = form.part("audio", part);
        let mut req = self.client.post(self.url("/api/v1/dictations")).bearer_auth(token).multipart(form);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.expect("upload request")
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        let resp = self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// The shared development corpus, or `None` with a printed reason.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("DICTAFLOW_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest.json").is_file() {
        Some(dir)
    } else {
        eprintln!("skipping: the corpus is not at {} (set DICTAFLOW_CORPUS)", dir.display());
        None
    }
}

/// A Python in a venv under the target directory (`venv`) with `pip_spec` installed from
/// PyPI, made once per test run. `None` (with the reason printed) when it cannot be set
/// up, unless the environment variable `require` is `1`.
pub fn venv_python(venv: &str, import: &str, pip_spec: &str, require: &str) -> Option<PathBuf> {
    use std::process::Command;
    static VENVS: std::sync::Mutex<Vec<(String, Result<PathBuf, String>)>> = std::sync::Mutex::new(Vec::new());
    let mut made = VENVS.lock().unwrap_or_else(|e| e.into_inner());
    if !made.iter().any(|(v, _)| v == venv) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(venv);
        let python = dir.join("bin/python");
        let has = |py: &Path| {
            let code = format!("import {import}");
            Command::new(py).args(["-c", &code]).output().map(|o| o.status.success()).unwrap_or(false)
        };
        let result = (|| {
            if python.is_file() && has(&python) {
                return Ok(python.clone());
            }
            match Command::new("python3").args(["-m", "venv"]).arg(&dir).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => return Err(format!("python3 -m venv failed: {}", String::from_utf8_lossy(&o.stderr))),
                Err(e) => return Err(format!("python3 is not available: {e}")),
            }
            match Command::new(&python).args(["-m", "pip", "install", "-q", pip_spec]).output() {
                Ok(o) if o.status.success() && has(&python) => Ok(python.clone()),
                Ok(o) => Err(format!("pip install {pip_spec} failed: {}", String::from_utf8_lossy(&o.stderr))),
                Err(e) => Err(format!("pip did not run: {e}")),
            }
        })();
        made.push((venv.to_string(), result));
    }
    match &made.iter().find(|(v, _)| v == venv).expect("just made").1 {
        Ok(p) => Some(p.clone()),
        Err(reason) if std::env::var(require).is_ok_and(|v| v == "1") => {
            panic!("{pip_spec} is required ({require}=1): {reason}")
        }
        Err(reason) => {
            eprintln!("skipping: cannot set up Python with {pip_spec}: {reason}");
            None
        }
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture")
}

/// Runs each listed `async fn(TestApp)` with its audio in a bucket of a real S3 server,
/// once on SQLite and once on PostgreSQL (beside `on_both_backends!`, which keeps the
/// audio in the local store).
#[macro_export]
macro_rules! on_s3_too {
    ($($name:ident),* $(,)?) => {
        mod s3 {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let app = $crate::helpers::spawn_app_s3($crate::helpers::Backend::Sqlite, dictaflow::clock::Clock::system(), |_| {}).await;
                        if let Some(app) = app {
                            super::super::$name(app).await;
                        }
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let app = $crate::helpers::spawn_app_s3($crate::helpers::Backend::Postgres, dictaflow::clock::Clock::system(), |_| {}).await;
                        if let Some(app) = app {
                            super::super::$name(app).await;
                        }
                    }
                )*
            }
        }
    };
}

/// Runs each listed test once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await.expect("sqlite app");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
