//! Layered configuration: built-in defaults -> `dictaflow.toml` -> `DICTAFLOW_*` environment -> CLI flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that never prints itself in `Debug` or `Display` output.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"[redacted]\"" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Serialising is how configuration is printed and layered; the layering
        // code works on the raw value (see `Config::defaults`), printing redacts.
        if self.0.is_empty() { s.serialize_str("") } else { s.serialize_str("[redacted]") }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub stt: SttConfig,
    pub retention: RetentionConfig,
    pub webhooks: crate::webhooks::WebhooksConfig,
    pub oidc: OidcConfig,
    pub metrics: MetricsConfig,
    pub audit: crate::audit::anchor::AnchorConfig,
    pub lexicon: LexiconConfig,
    pub letters: crate::letters::LettersConfig,
    pub calendars: CalendarsConfig,
    pub smtp: crate::notify::SmtpConfig,
    pub notify: crate::notify::NotifyConfig,
}

/// Working calendars beyond the shipped ones (England and Wales, Scotland, Northern Ireland).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarsConfig {
    /// A directory of calendar files (`<name>.yaml`), read at start; a file named like a
    /// shipped calendar replaces it. Unset: the shipped calendars only.
    pub dir: Option<PathBuf>,
}

/// Who may read `/metrics` and the details of `/readyz` (everyone gets `/healthz` and
/// the `/readyz` status code): callers from `allow_from`, callers presenting
/// `bearer_token`, and signed-in super-users.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Client addresses (IP addresses or CIDR blocks) allowed; default loopback only.
    pub allow_from: Vec<String>,
    /// A scraper's `Authorization: Bearer` secret; empty = none.
    pub bearer_token: Secret,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { allow_from: vec!["127.0.0.0/8".into(), "::1".into()], bearer_token: Secret::default() }
    }
}

/// The clinical lexicon.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LexiconConfig {
    /// Corrected letters in which a term must be typed where recognition missed it before
    /// it joins that clinician's (and specialty's) lexicon and recognition prompt.
    pub learn_threshold: u32,
    /// Installed hunspell dictionaries whose words the spell-check also knows (a missing
    /// file is skipped; British spellings win over their American forms).
    pub extra_dictionaries: Vec<PathBuf>,
}

impl Default for LexiconConfig {
    fn default() -> Self {
        Self { learn_threshold: 3, extra_dictionaries: vec![PathBuf::from("/usr/share/hunspell/en_med_glut.dic")] }
    }
}

/// Single sign-on through an OpenID Connect provider (authorization code flow with
/// PKCE). Off while `issuer` is empty. A user's first sign-on matches an existing
/// dictaflow user by `username_claim` and binds that user to the provider's subject
/// (`sub`); later sign-ons match by the subject alone. Nobody is created automatically.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The provider's issuer URL (its `/.well-known/openid-configuration` is read).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// This server's callback as registered with the provider, ending in
    /// `/api/v1/auth/oidc/callback`.
    pub redirect_url: String,
    /// The ID token claim holding the dictaflow username.
    pub username_claim: String,
    /// Where the browser goes after a successful sign-on.
    pub after_login: String,
    /// Audiences an ID token may name besides `client_id` (its `azp` must then be `client_id`).
    pub trusted_audiences: Vec<String>,
    /// Tolerated difference between this server's clock and the provider's, for `exp` and `iat`.
    pub clock_skew_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            redirect_url: String::new(),
            username_claim: "preferred_username".into(),
            after_login: "/app/".into(),
            trusted_audiences: Vec::new(),
            clock_skew_secs: 60,
        }
    }
}

impl OidcConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Delete a dictation's audio this many days after it was dispatched (0 = keep forever).
    /// The letter and the audit trail are kept; each purge is audited.
    pub audio_days_after_dispatch: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SttConfig {
    /// Run transcription workers in this process (`dictaflow worker` always does).
    pub enabled: bool,
    /// Model name from `models/manifest.json` (e.g. `tiny.en`, `base.en`), or a path to a ggml file.
    pub model: String,
    /// Where model files live; fetched there when missing.
    pub models_dir: PathBuf,
    /// Fetch the model at start when it is missing (hub first, then the offline fallback).
    pub auto_fetch: bool,
    /// Concurrent transcriptions (0 = 1 per 4 cores, at least 1).
    pub workers: usize,
    /// whisper threads per transcription (0 = cores / workers).
    pub threads: usize,
    /// Language code; empty = the model's default (English for `.en` models).
    pub language: String,
    /// Beam width; 0 or 1 = greedy decoding.
    pub beam_size: u32,
    /// A job whose worker stops heartbeating for this long is taken again.
    pub lease_seconds: u64,
    /// Attempts before a job is marked failed.
    pub max_attempts: i64,
    /// whisper.cpp's flash attention: the encoder no longer holds its full attention
    /// matrices (about 70 MB less peak memory with tiny.en) but, on CPU, runs 20-30 %
    /// slower (see BENCHMARKS.md); off by default.
    pub flash_attn: bool,
    /// Tokens of already recognised text given to the decoder as context for the next
    /// 30 s of a recording (1-224; whisper's own 224 costs memory and time and did not
    /// recognise the corpus better, see BENCHMARKS.md).
    pub max_text_ctx: usize,
    /// Rescore uncertain spans of each draft against the clinical lexicon (`src/stt/rescore.rs`).
    pub lexicon: bool,
}

impl Default for SttConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            model: "tiny.en".into(),
            models_dir: PathBuf::from("models"),
            auto_fetch: true,
            workers: 0,
            threads: 0,
            language: String::new(),
            beam_size: 0,
            lease_seconds: 60,
            max_attempts: 3,
            flash_attn: false,
            max_text_ctx: 64,
            lexicon: true,
        }
    }
}

impl SttConfig {
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => (cores() / 4).max(1),
            n => n,
        }
    }
    /// The engine settings these options give.
    pub fn engine_config(&self) -> crate::stt::EngineConfig {
        crate::stt::EngineConfig {
            threads: self.thread_count(),
            flash_attn: self.flash_attn,
            max_text_ctx: self.max_text_ctx.clamp(1, 224),
            ..crate::stt::EngineConfig::default()
        }
    }
    pub fn thread_count(&self) -> usize {
        match self.threads {
            0 => (cores() / self.worker_count()).max(1),
            n => n,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// Seconds in-flight requests get to finish after SIGTERM / ctrl-c.
    pub shutdown_grace_seconds: u64,
    /// Proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Time limit for a request (uploads excepted: they are bounded by size and decode time).
    pub request_timeout_seconds: u64,
    /// PEM certificate chain for built-in TLS (with `tls_key`); empty = plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for built-in TLS.
    pub tls_key: Option<PathBuf>,
    /// Seconds a client gets to send a request's headers, from their first byte.
    pub header_timeout_seconds: u64,
    /// Seconds a connection may wait with no request (before the first, or between
    /// keep-alive requests) before it is closed.
    pub idle_timeout_seconds: u64,
    /// Seconds a request body (an upload) may send nothing before its connection is
    /// closed; a body that keeps sending is never cut.
    pub body_stall_seconds: u64,
    /// Open connections at most; more are closed at once. Lowered at start to fit the
    /// open-file limit.
    pub max_connections: usize,
    /// Open connections per client address (the socket peer; `trusted_proxies` are exempt).
    pub max_connections_per_address: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory holding the SQLite database (embedded mode) and the audio store.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; empty means `sqlite://<data_dir>/dictaflow.db`.
    pub database_url: Secret,
    /// Maximum database connections in the pool; unset: [`StorageConfig::connections`].
    pub max_connections: Option<u32>,
    /// Orphaned audio files (no dictation row) older than this are removed at start.
    pub orphan_grace_seconds: u64,
    /// Where the audio lives: empty = `<data_dir>/audio`; a directory; or
    /// `s3://BUCKET/PREFIX` for an S3-compatible bucket shared by every node.
    pub audio_url: String,
    /// The bucket's connection (with an `s3://` `audio_url`).
    pub s3: S3Config,
}

/// An S3-compatible bucket. Credentials come from `access_key_id`/`secret_access_key`
/// when set, else the standard `AWS_*` environment variables, the shared credentials
/// file's profile (`AWS_PROFILE`), or the instance/container role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// The S3 API's URL for a server other than AWS (MinIO, Ceph RGW, Garage...); empty = AWS.
    pub endpoint: String,
    /// The bucket's region; empty = `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: String,
    /// Allow a plain `http://` endpoint (a local test server; never across a network).
    pub allow_http: bool,
    /// Address the bucket as `BUCKET.endpoint` instead of `endpoint/BUCKET`.
    pub virtual_hosted_style: bool,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Server-side encryption: empty (the bucket's default), `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub sse: String,
    /// The KMS key for `aws:kms`; empty = the account's default key.
    pub sse_kms_key_id: String,
    /// Multipart upload part size in MiB (5 to 512); two parts at most are in memory per upload.
    pub part_size_mib: usize,
    /// This node's on-disk read-through cache of audio objects, in MiB (0 = none).
    pub cache_mib: u64,
    /// Sign each request body's SHA-256 (SigV4 signed payload) instead of sending
    /// `UNSIGNED-PAYLOAD`: a second hash of every byte on this node and on the server,
    /// which TLS already makes needless.
    pub sign_payload: bool,
    /// Keep connections to the endpoint open between requests (the usual way). Turn off
    /// only for a server whose sockets delay small writes (no `TCP_NODELAY`): on a kept
    /// connection each of its responses can then wait for a delayed acknowledgement
    /// (tens of milliseconds); a new connection per request does not.
    pub keep_alive: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            region: String::new(),
            allow_http: false,
            virtual_hosted_style: false,
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            sse: String::new(),
            sse_kms_key_id: String::new(),
            part_size_mib: 5,
            cache_mib: 2048,
            sign_payload: false,
            keep_alive: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted upload in bytes (413 beyond it).
    pub max_upload_bytes: u64,
    /// Longest accepted recording in seconds.
    pub max_duration_seconds: f64,
    /// Shortest accepted recording in seconds.
    pub min_duration_seconds: f64,
    /// Time bound for decoding one upload.
    pub decode_timeout_seconds: u64,
    /// Uploads decoded at the same time; further uploads wait (0 = number of cores).
    pub max_concurrent_decodes: usize,
    /// Longest recording `POST /v1/audio/transcriptions` accepts, in seconds (decoded
    /// audio is held in memory while it is transcribed: 64 kB a second).
    pub direct_max_duration_seconds: f64,
    /// Direct transcriptions that may wait for a free slot; more get 503 `overloaded` at once.
    pub direct_max_waiting: usize,
    /// A resumable upload (`/api/v1/uploads`) not sent to for this many hours is removed.
    pub upload_session_hours: u64,
    /// The chunk size the server suggests to resumable-upload clients, in bytes.
    pub upload_chunk_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of a login session or token in hours.
    pub session_hours: i64,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Failed logins per account within the window before further attempts get 429.
    pub login_max_failures_per_account: u32,
    /// Failed logins per client address within the window before further attempts get 429.
    pub login_max_failures_per_address: u32,
    /// The sliding window for login failures, in seconds.
    pub login_window_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_grace_seconds: 30,
            trusted_proxies: Vec::new(),
            request_timeout_seconds: 60,
            tls_cert: None,
            tls_key: None,
            header_timeout_seconds: 15,
            idle_timeout_seconds: 75,
            body_stall_seconds: 60,
            max_connections: 4096,
            max_connections_per_address: 256,
        }
    }
}

impl StorageConfig {
    /// The pool size: `max_connections` when set, else 16 for PostgreSQL (connections
    /// wait on the network, so more of them overlap) and twice the cores, at least 4, for
    /// SQLite. A SQLite connection works on this process's CPU, so connections beyond the
    /// cores add no throughput, and each one pays for every commit: under WAL a commit
    /// throws away every other connection's cached pages, which that connection reads
    /// again on its next query (BENCHMARKS.md: on 2 cores, 32 clients listing queues,
    /// 4 connections serve ~15 % more listings than 32, with a lower p99).
    pub fn connections(&self, url: &str) -> u32 {
        if let Some(n) = self.max_connections {
            return n.max(1);
        }
        if url.starts_with("sqlite:") {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
            (2 * cores).max(4)
        } else {
            16
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: Secret::default(),
            max_connections: None,
            orphan_grace_seconds: 3600,
            audio_url: String::new(),
            s3: S3Config::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 512 * 1024 * 1024,
            max_duration_seconds: 7200.0,
            min_duration_seconds: 0.05,
            decode_timeout_seconds: 120,
            max_concurrent_decodes: 0,
            direct_max_duration_seconds: 1800.0,
            direct_max_waiting: 8,
            upload_session_hours: 24,
            upload_chunk_bytes: 1024 * 1024,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_hours: 12,
            secure_cookies: false,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 20,
            login_window_seconds: 900,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: "info,sqlx=warn,whisper_rs=warn,whisper_cpp=warn".into() }
    }
}

/// Overrides given on the command line (the last layer).
#[derive(Debug, Default, Clone, Serialize)]
pub struct CliOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads the layers. `file` is the explicit `--config` path; without it
    /// `dictaflow.toml` in the working directory is used when present.
    pub fn load(file: Option<&Path>, cli: &CliOverrides) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::new().merge(Serialized::defaults(Config::default()));
        match file {
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None => fig = fig.merge(Toml::file("dictaflow.toml")),
        }
        fig = fig.merge(env_layer());
        if let Some(bind) = cli.bind {
            fig = fig.merge(("server.bind", bind));
        }
        if let Some(dir) = &cli.data_dir {
            fig = fig.merge(("storage.data_dir", dir));
        }
        if let Some(url) = &cli.database_url {
            fig = fig.merge(("storage.database_url", url));
        }
        if let Some(format) = &cli.log_format {
            fig = fig.merge(("log.format", format));
        }
        let config: Config = fig.extract().map_err(Box::new)?;
        config.validate().map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(config)
    }
}

/// `DICTAFLOW_SECTION__KEY` variables (e.g. `DICTAFLOW_LIMITS__MAX_UPLOAD_BYTES`),
/// plus the `DICTAFLOW_DATABASE_URL` shorthand. Other `DICTAFLOW_*` variables
/// (such as `DICTAFLOW_CONFIG`) are not configuration keys and are ignored here.
fn env_layer() -> Env {
    Env::prefixed("DICTAFLOW_")
        .filter_map(|key| {
            let key = key.as_str().to_ascii_lowercase();
            if key == "database_url" {
                Some("storage__database_url".to_string().into())
            } else if key.contains("__") {
                Some(key.into())
            } else {
                None
            }
        })
        .split("__")
}

impl Config {
    fn validate(&self) -> Result<(), String> {
        if self.limits.max_upload_bytes == 0 {
            return Err("limits.max_upload_bytes must be greater than 0".into());
        }
        if self.limits.upload_session_hours == 0 || self.limits.upload_chunk_bytes == 0 {
            return Err("limits.upload_session_hours and limits.upload_chunk_bytes must be greater than 0".into());
        }
        let (max, min) = (self.limits.max_duration_seconds, self.limits.min_duration_seconds);
        // partial_cmp so that NaN limits are refused too.
        if max.partial_cmp(&min) != Some(std::cmp::Ordering::Greater) || min.is_nan() {
            return Err("limits.max_duration_seconds must exceed limits.min_duration_seconds".into());
        }
        if self.auth.session_hours <= 0 {
            return Err("auth.session_hours must be positive".into());
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err("server.tls_cert and server.tls_key go together".into());
        }
        if self.oidc.enabled() && (self.oidc.client_id.is_empty() || self.oidc.redirect_url.is_empty()) {
            return Err("oidc.issuer needs oidc.client_id and oidc.redirect_url".into());
        }
        if self.limits.direct_max_duration_seconds.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err("limits.direct_max_duration_seconds must be positive".into());
        }
        if let Some(bad) = self.metrics.allow_from.iter().find(|p| crate::auth::client_addr::IpNet::parse(p).is_none())
        {
            return Err(format!("metrics.allow_from: {bad:?} is not an IP address or CIDR block"));
        }
        if self.server.request_timeout_seconds == 0 {
            return Err("server.request_timeout_seconds must be positive".into());
        }
        let server = &self.server;
        if [server.header_timeout_seconds, server.idle_timeout_seconds, server.body_stall_seconds].contains(&0) {
            return Err(
                "server.header_timeout_seconds, idle_timeout_seconds and body_stall_seconds must be positive".into()
            );
        }
        if server.max_connections == 0 || server.max_connections_per_address == 0 {
            return Err("server.max_connections and max_connections_per_address must be positive".into());
        }
        if self.auth.login_window_seconds == 0 {
            return Err("auth.login_window_seconds must be positive".into());
        }
        self.letters.validate()?;
        if self.lexicon.learn_threshold == 0 {
            return Err("lexicon.learn_threshold must be at least 1".into());
        }
        if let Some(bad) =
            self.server.trusted_proxies.iter().find(|p| crate::auth::client_addr::IpNet::parse(p).is_none())
        {
            return Err(format!("server.trusted_proxies: {bad:?} is not an IP address or CIDR block"));
        }
        self.notify.validate()?;
        if self.smtp.enabled() && self.smtp.port == 0 {
            return Err("smtp.port must be set".into());
        }
        self.validate_audio_store()?;
        let url = self.database_url();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("storage.database_url must start with sqlite:, postgres:// or postgresql://".into());
        }
        Ok(())
    }

    fn validate_audio_store(&self) -> Result<(), String> {
        let s3 = &self.storage.s3;
        crate::storage::blob::BucketUrl::parse(self.storage.audio_url.trim()).map_err(|e| e.to_string())?;
        if !["", "AES256", "aws:kms", "aws:kms:dsse"].contains(&s3.sse.as_str()) {
            return Err(format!(
                "storage.s3.sse: {:?} is not \"\", \"AES256\", \"aws:kms\" or \"aws:kms:dsse\"",
                s3.sse
            ));
        }
        if !(5..=512).contains(&s3.part_size_mib) {
            return Err("storage.s3.part_size_mib must be between 5 and 512".into());
        }
        if s3.access_key_id.is_empty() != s3.secret_access_key.is_empty() {
            return Err("storage.s3.access_key_id and storage.s3.secret_access_key go together".into());
        }
        Ok(())
    }

    /// The effective database URL (SQLite in the data directory unless configured).
    pub fn database_url(&self) -> String {
        if self.storage.database_url.is_empty() {
            let path = self.storage.data_dir.join("dictaflow.db");
            format!("sqlite://{}?mode=rwc", path.display())
        } else {
            self.storage.database_url.expose().to_string()
        }
    }

    /// Whether cookies must be `Secure`: configured, or served over built-in TLS.
    pub fn secure_cookies(&self) -> bool {
        self.auth.secure_cookies || self.server.tls_cert.is_some()
    }

    pub fn decode_concurrency(&self) -> usize {
        match self.limits.max_concurrent_decodes {
            0 => cores(),
            n => n,
        }
    }

    /// The configuration as TOML with secrets redacted (for `dictaflow config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn pool_size_follows_the_backend_unless_set() {
        let mut storage = StorageConfig::default();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        assert_eq!(storage.connections("sqlite://data/dictaflow.db"), (2 * cores).max(4));
        assert_eq!(storage.connections("postgres://db/x"), 16);
        storage.max_connections = Some(32);
        assert_eq!(storage.connections("sqlite://data/dictaflow.db"), 32);
        storage.max_connections = Some(0);
        assert_eq!(storage.connections("postgres://db/x"), 1);
    }

    #[test]
    fn secrets_never_print() {
        let mut config = Config::default();
        config.storage.database_url = Secret::new("postgres://u:hunter2@db/x");
        config.oidc.client_secret = Secret::new("hunter3");
        config.smtp.password = Secret::new("hunter5");
        assert!(!format!("{config:?}").contains("hunter5"));
        assert!(!config.to_redacted_toml().contains("hunter5"));
        assert!(config.to_redacted_toml().contains("password = \"[redacted]\""));
        config.storage.audio_url = "s3://audio/trust".into();
        config.storage.s3.access_key_id = "AKIAEXAMPLE".into();
        config.storage.s3.secret_access_key = Secret::new("hunter4");
        assert!(!format!("{config:?}").contains("hunter4"));
        let shown = config.to_redacted_toml();
        assert!(!shown.contains("hunter4"), "{shown}");
        assert!(shown.contains("audio_url = \"s3://audio/trust\""), "{shown}");
        assert!(shown.contains("[storage.s3]") && shown.contains("secret_access_key = \"[redacted]\""), "{shown}");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!config.to_redacted_toml().contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter3"));
        assert!(!config.to_redacted_toml().contains("hunter3"));
        assert_eq!(config.oidc.client_secret.expose(), "hunter3");
        assert_eq!(config.database_url(), "postgres://u:hunter2@db/x");
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "dictaflow.toml",
                "[server]\nbind = \"0.0.0.0:9000\"\n[limits]\nmax_upload_bytes = 1000\n",
            )?;
            jail.set_env("DICTAFLOW_LIMITS__MAX_UPLOAD_BYTES", "2000");
            jail.set_env("DICTAFLOW_CORPUS", "/not/a/config/key");
            jail.set_env("DICTAFLOW_DATABASE_URL", "postgres://db/x");
            let cli = CliOverrides { data_dir: Some("/tmp/x".into()), ..Default::default() };
            let config = Config::load(None, &cli).expect("config loads");
            assert_eq!(config.server.bind.port(), 9000);
            assert_eq!(config.limits.max_upload_bytes, 2000);
            assert_eq!(config.storage.data_dir, PathBuf::from("/tmp/x"));
            assert_eq!(config.database_url(), "postgres://db/x");
            Ok(())
        });
    }

    #[test]
    fn smtp_and_notify_settings_load_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "dictaflow.toml",
                "[smtp]\nhost = \"mail.trust.example\"\nport = 465\ntls = \"tls\"\nusername = \"df\"\n\
                 [notify]\nbase_url = \"https://dictaflow.trust.example\"\nweekly_report_day = \"friday\"\n",
            )?;
            jail.set_env("DICTAFLOW_SMTP__PASSWORD", "from-the-environment");
            let config = Config::load(None, &CliOverrides::default()).expect("config loads");
            assert_eq!((config.smtp.port, config.smtp.tls), (465, crate::notify::SmtpTls::Tls));
            assert_eq!(config.smtp.password.expose(), "from-the-environment");
            assert_eq!(config.notify.weekday(), Some(chrono::Weekday::Fri));
            for (bad, key) in [
                ("[notify]\ntimezone = \"Mars/Olympus\"\n", "notify.timezone"),
                ("[notify]\ndigest_hour = 24\n", "notify.digest_hour"),
                ("[notify]\nweekly_report_day = \"someday\"\n", "notify.weekly_report_day"),
                ("[notify]\nbase_url = \"dictaflow.example\"\n", "notify.base_url"),
                ("[smtp]\ntls = \"ssl\"\n", "tls"),
            ] {
                jail.create_file("dictaflow.toml", bad)?;
                let err = Config::load(None, &CliOverrides::default()).unwrap_err().to_string();
                assert!(err.contains(key), "{bad}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_urls_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("dictaflow.toml", "[server]\nbnd = \"0.0.0.0:9000\"\n")?;
            assert!(Config::load(None, &CliOverrides::default()).is_err());
            jail.create_file("dictaflow.toml", "[storage]\naudio_url = \"s3://Not_A_Bucket\"\n")?;
            let err = Config::load(None, &CliOverrides::default()).unwrap_err();
            assert!(err.to_string().contains("storage.audio_url"), "{err}");
            jail.create_file("dictaflow.toml", "[storage.s3]\nsse = \"rot13\"\n")?;
            let err = Config::load(None, &CliOverrides::default()).unwrap_err();
            assert!(err.to_string().contains("storage.s3.sse"), "{err}");
            jail.create_file("dictaflow.toml", "[storage]\ndatabase_url = \"mysql://x\"\n")?;
            let err = Config::load(None, &CliOverrides::default()).unwrap_err();
            assert!(err.to_string().contains("database_url"));
            Ok(())
        });
    }
}
