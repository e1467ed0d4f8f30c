//! Single sign-on against a real OpenID Connect provider: panva's certified
//! `oidc-provider` from npm, run by Node.js from `tests/fixtures/oidc/provider.mjs`. The
//! browser's part (authorization, the provider's login, the callback) is driven over
//! HTTP. Covered: binding the provider's subject on the first sign-on, a renamed user,
//! another account claiming a bound username, unknown users, a foreign `azp`, key
//! rotation, foreign keys, expiry, replayed or foreign state, and the super-user's view and
//! removal of a binding. Skipped, with the reason printed, when Node.js or npm cannot set
//! the provider up, unless `DICTAFLOW_TEST_REQUIRE_OIDC=1`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use dictaflow::clock::Clock;
use dictaflow::domain::Role;
use serde_json::{Value, json};

use super::support::{HOUR, audit, call};
use crate::helpers::{Backend, TestApp, spawn_app_clocked};

/// The provider package, pinned.
const PACKAGE: &str = "oidc-provider@9.13.3";
const CLIENT_ID: &str = "dictaflow";
const CLIENT_SECRET: &str = "s3cret-for-tests-only";
/// The callback as registered; the test sends the browser to the test server instead.
const CALLBACK: &str = "http://dictaflow.invalid/api/v1/auth/oidc/callback";

/// A directory with `oidc-provider` installed and the fixture script, made once per run.
fn provider_dir() -> Option<PathBuf> {
    static DIR: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut slot = DIR.lock().unwrap_or_else(|e| e.into_inner());
    let result = slot.get_or_insert_with(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
        match Command::new("node").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => return Err(format!("node --version failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => return Err(format!("Node.js is not available: {e}")),
        }
        let installed = dir.join("node_modules/oidc-provider/package.json");
        let version = PACKAGE.rsplit('@').next().unwrap_or_default();
        let has_it =
            |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains(&format!("\"version\": \"{version}\"")));
        if !has_it(&installed) {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let npm = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg(PACKAGE)
                .output();
            match npm {
                Ok(o) if o.status.success() && has_it(&installed) => {}
                Ok(o) => return Err(format!("npm install {PACKAGE} failed: {}", String::from_utf8_lossy(&o.stderr))),
                Err(e) => return Err(format!("npm is not available: {e}")),
            }
        }
        // Beside node_modules, so that its imports resolve.
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oidc/provider.mjs");
        std::fs::copy(script, dir.join("provider.mjs")).map_err(|e| e.to_string())?;
        Ok(dir)
    });
    match result {
        Ok(dir) => Some(dir.clone()),
        Err(reason) if std::env::var("DICTAFLOW_TEST_REQUIRE_OIDC").is_ok_and(|v| v == "1") => {
            panic!("the OpenID Connect provider is required (DICTAFLOW_TEST_REQUIRE_OIDC=1): {reason}")
        }
        Err(reason) => {
            eprintln!("skipping: cannot set up the OpenID Connect provider: {reason}");
            None
        }
    }
}

/// A running provider process; killed on drop.
struct Provider {
    dir: PathBuf,
    files: tempfile::TempDir,
    child: Child,
    issuer: String,
    port: u16,
}

impl Provider {
    fn start(dir: &Path, accounts: &Value) -> Self {
        let files = tempfile::tempdir().unwrap();
        std::fs::write(files.path().join("accounts.json"), accounts.to_string()).unwrap();
        let (child, issuer, port) = spawn(dir, files.path(), 0, false);
        Self { dir: dir.to_path_buf(), files, child, issuer, port }
    }

    fn set_accounts(&self, accounts: &Value) {
        std::fs::write(self.files.path().join("accounts.json"), accounts.to_string()).unwrap();
    }

    /// Stops the process and starts another on the same address (a new signing key).
    fn restart(&mut self, foreign_jwks: bool) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.child, self.issuer, self.port) = spawn(&self.dir, self.files.path(), self.port, foreign_jwks);
    }
}

/// Runs the provider on `port` (0: any) with a fresh signing key: (process, issuer, port).
fn spawn(dir: &Path, files: &Path, port: u16, foreign_jwks: bool) -> (Child, String, u16) {
    let log = std::fs::File::create(files.join("provider.log")).unwrap();
    let mut child = Command::new("node")
        .arg(dir.join("provider.mjs"))
        .env("PORT", port.to_string())
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URI", CALLBACK)
        .env("ACCOUNTS_FILE", files.join("accounts.json"))
        .env("FOREIGN_JWKS", if foreign_jwks { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut reader, mut line) = (BufReader::new(stdout), String::new());
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading, so that the provider's later output does not fail on a closed pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let Some(issuer) = line.trim().strip_prefix("issuer ") else {
        let _ = child.kill();
        let log = std::fs::read_to_string(files.join("provider.log")).unwrap_or_default();
        panic!("the provider did not start: {line:?}\n{log}");
    };
    let port = issuer.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap();
    (child, issuer.to_string(), port)
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.files.path().join("provider.log")).unwrap_or_default();
            eprintln!("provider log:\n{log}");
        }
    }
}

/// A fresh browser: no provider session, its own cookies for the provider.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, cookies: BTreeMap::new() }
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for pair in cookie_pairs(resp) {
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// A request to the provider, with its cookies; returns the response.
    async fn at_provider(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let resp = req.header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep_cookies(&resp);
        resp
    }
}

fn cookie_pairs(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect()
}

fn location(resp: &reqwest::Response, base: &str) -> String {
    let to = resp.headers()["location"].to_str().unwrap();
    reqwest::Url::parse(base).unwrap().join(to).unwrap().to_string()
}

/// Starts a sign-in at dictaflow, signs in at the provider as `account`; returns the
/// callback URL (pointed at the test server) and the state cookie the browser holds.
async fn to_callback(app: &TestApp, provider: &Provider, account: &str) -> (String, String) {
    let mut browser = Browser::new();
    let start = browser.http.get(app.url("/api/v1/auth/oidc/login")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let state_cookie = cookie_pairs(&start).join("; ");
    assert!(state_cookie.starts_with("dictaflow_oidc="));
    let authorize = location(&start, &app.base);
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="));
    let to_login = browser.at_provider(browser.http.get(&authorize)).await;
    assert_eq!(to_login.status(), 303, "{}", to_login.text().await.unwrap());
    let interaction = location(&to_login, &provider.issuer);
    let page = browser.at_provider(browser.http.get(&interaction)).await;
    assert_eq!(page.status(), 200);
    let login = browser.http.post(format!("{interaction}/login")).form(&[("login", account)]);
    let resume = browser.at_provider(login).await;
    assert_eq!(resume.status(), 303, "{}", resume.text().await.unwrap());
    let resume = location(&resume, &provider.issuer);
    let back = browser.at_provider(browser.http.get(&resume)).await;
    assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
    let back = location(&back, &provider.issuer);
    assert!(back.starts_with(CALLBACK), "{back}");
    (back.replace("http://dictaflow.invalid", &app.base), state_cookie)
}

async fn sign_in(app: &TestApp, provider: &Provider, account: &str) -> reqwest::Response {
    let (back, cookie) = to_callback(app, provider, account).await;
    Browser::new().http.get(&back).header("cookie", cookie).send().await.unwrap()
}

/// Signs in and returns the username of the session it made.
async fn signed_in_as(app: &TestApp, provider: &Provider, account: &str) -> String {
    let resp = sign_in(app, provider, account).await;
    assert_eq!(resp.status(), 303, "{account}: {}", resp.text().await.unwrap());
    assert_eq!(resp.headers()["location"], "/app/");
    let cookies = cookie_pairs(&resp);
    let session = cookies.iter().find(|c| c.starts_with("dictaflow_session=dfl_")).expect("a session cookie");
    assert!(cookies.iter().any(|c| c.starts_with("dictaflow_csrf=") && c.len() > 20));
    assert!(cookies.contains(&"dictaflow_oidc=".to_string()), "the state cookie is cleared");
    let me = app.client.get(app.url("/api/v1/auth/me")).header("cookie", session).send().await.unwrap();
    assert_eq!(me.status(), 200);
    me.json::<Value>().await.unwrap()["username"].as_str().unwrap().to_string()
}

/// Signs in, expects a refusal with `status` and `code`, and returns the audited reason.
async fn refused(app: &TestApp, provider: &Provider, account: &str, status: u16, code: &str, admin: &str) -> String {
    let resp = sign_in(app, provider, account).await;
    assert_eq!(resp.status(), status, "{account}");
    assert!(!cookie_pairs(&resp).iter().any(|c| c.starts_with("dictaflow_session")));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    let failed = audit(app, admin, "action=auth.login_failed").await;
    failed[0]["details"]["reason"].as_str().unwrap().to_string()
}

fn real_now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

async fn app_for(backend: Backend, issuer: &str) -> Option<TestApp> {
    // The provider stamps tokens with the real time; the server's clock starts there.
    let issuer = issuer.to_string();
    spawn_app_clocked(backend, Clock::manual(real_now_ms()), |c| {
        c.oidc.issuer = issuer;
        c.oidc.client_id = CLIENT_ID.into();
        c.oidc.client_secret = dictaflow::config::Secret::new(CLIENT_SECRET);
        c.oidc.redirect_url = CALLBACK.into();
    })
    .await
}

fn accounts(patel_username: &str) -> Value {
    json!({
        "sub-patel": {"preferred_username": patel_username, "name": "Priya Patel"},
        "sub-mallory": {"preferred_username": "dr.patel"},
        "sub-nobody": {"preferred_username": "dr.nobody"},
        "sub-jones-elsewhere": {"preferred_username": "dr.jones", "azp": "someone-else"},
    })
}

async fn single_sign_on(backend: Backend) {
    let Some(dir) = provider_dir() else { return };
    let mut provider = Provider::start(&dir, &accounts("dr.patel"));
    let Some(app) = app_for(backend, &provider.issuer).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    app.user("dr.jones", Role::Clinician, &["ent"]).await;
    let user_id = |name: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (_, list) = call(app, "GET", &admin, "/api/v1/users", None).await;
            let items = list["items"].as_array().unwrap().clone();
            items.iter().find(|u| u["username"] == name).unwrap()["id"].as_str().unwrap().to_string()
        }
    };
    let (patel, jones) = (user_id("dr.patel").await, user_id("dr.jones").await);
    let binding = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (status, body) = call(app, "GET", &admin, &format!("/api/v1/users/{id}"), None).await;
            assert_eq!(status, 200);
            body["oidc_subject"].clone()
        }
    };
    assert_eq!(binding(patel.clone()).await, Value::Null);

    // The first sign-on matches the username claim and binds the provider's subject.
    assert_eq!(signed_in_as(&app, &provider, "sub-patel").await, "dr.patel");
    let bound = binding(patel.clone()).await;
    assert_eq!(
        (bound["issuer"].as_str(), bound["subject"].as_str()),
        (Some(provider.issuer.as_str()), Some("sub-patel"))
    );
    let binds = audit(&app, &admin, "action=auth.oidc_bind").await;
    assert_eq!((binds.len(), binds[0]["actor"].as_str()), (1, Some("dr.patel")));
    let logins = audit(&app, &admin, "action=auth.login").await;
    assert_eq!(logins[0]["details"]["via"], "oidc");
    assert_eq!(logins[0]["details"]["first_sign_in"], true);

    // Another account of the provider claiming the bound username is refused.
    let why = refused(&app, &provider, "sub-mallory", 403, "sso_identity_conflict", &admin).await;
    assert!(why.contains("bound to another identity") && why.contains("sub-mallory"), "{why}");

    // Renamed at the provider, even to another user's name: still the bound account.
    provider.set_accounts(&accounts("dr.jones"));
    assert_eq!(signed_in_as(&app, &provider, "sub-patel").await, "dr.patel");
    assert_eq!(audit(&app, &admin, "action=auth.login").await[0]["details"]["first_sign_in"], false);
    assert_eq!(binding(jones.clone()).await, Value::Null, "dr.jones is not bound by the rename");

    // Unknown users, and a token issued to another party (`azp`), are refused.
    let why = refused(&app, &provider, "sub-nobody", 401, "unauthorized", &admin).await;
    assert!(why.contains("no active user \"dr.nobody\""), "{why}");
    let why = refused(&app, &provider, "sub-jones-elsewhere", 401, "unauthorized", &admin).await;
    assert!(why.contains("another client") && why.contains("azp"), "{why}");
    assert_eq!(binding(jones).await, Value::Null);

    // A callback is good once, and only in the browser that started the login.
    let (back, cookie) = to_callback(&app, &provider, "sub-patel").await;
    assert_eq!(Browser::new().http.get(&back).header("cookie", &cookie).send().await.unwrap().status(), 303);
    let replayed = Browser::new().http.get(&back).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(replayed.status(), 401, "replayed");
    let (back, _) = to_callback(&app, &provider, "sub-patel").await;
    assert_eq!(Browser::new().http.get(&back).send().await.unwrap().status(), 401, "no state cookie");

    // A super-user removes the binding (audited); the next sign-on binds by username again.
    let path = format!("/api/v1/users/{patel}/oidc");
    let (status, _) = call(&app, "DELETE", &admin, &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(call(&app, "DELETE", &admin, &path, None).await.0, 404);
    let unbinds = audit(&app, &admin, "action=admin.user_oidc_unbind").await;
    assert_eq!((unbinds.len(), unbinds[0]["details"]["subject"].as_str()), (1, Some("sub-patel")));
    assert_eq!(binding(patel.clone()).await, Value::Null);
    provider.set_accounts(&accounts("dr.patel"));
    assert_eq!(signed_in_as(&app, &provider, "sub-patel").await, "dr.patel");
    assert_eq!(binding(patel.clone()).await["subject"], "sub-patel");

    // The provider rotates its key: the server fetches the keys again and signs in.
    provider.restart(false);
    assert_eq!(signed_in_as(&app, &provider, "sub-patel").await, "dr.patel");

    // An ID token that expired (an hour's lifetime, a minute's tolerance) is refused.
    app.state.clock.advance_ms(2 * HOUR);
    let why = refused(&app, &provider, "sub-patel", 401, "unauthorized", &admin).await;
    assert!(why.contains("expired"), "{why}");

    // A provider publishing keys that are not its signing key: every token is refused.
    provider.restart(true);
    let why = refused(&app, &provider, "sub-patel", 401, "unauthorized", &admin).await;
    assert!(why.contains("bad signature"), "{why}");
}

async fn off_unless_configured(backend: Backend) {
    let Some(app) = super::support::app(backend, |_| {}).await else { return };
    for path in ["/api/v1/auth/oidc/login", "/api/v1/auth/oidc/callback?code=x&state=y"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}

crate::both_backends!(single_sign_on, off_unless_configured);
