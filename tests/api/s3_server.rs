//! A real S3-compatible server for the tests: `s3s-fs` (a Rust S3 server on a directory,
//! from crates.io; `.ci/run` installs it under `target/tools/`), started per test on a
//! free port with a fresh directory and bucket, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dictaflow::config::{Config, Secret};

pub const BUCKET: &str = "dictaflow-test";
const ACCESS_KEY: &str = "dictaflow-test-key";
const SECRET_KEY: &str = "dictaflow-test-secret";

fn required() -> bool {
    std::env::var("DICTAFLOW_TEST_REQUIRE_S3").is_ok_and(|v| v == "1")
}

/// `DICTAFLOW_TEST_S3S_FS`, else `target/tools/bin/s3s-fs` (where `.ci/run` installs
/// it), else `s3s-fs` on `PATH`.
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DICTAFLOW_TEST_S3S_FS") {
        return Some(PathBuf::from(p));
    }
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs");
    if installed.is_file() {
        return Some(installed);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("s3s-fs")).find(|p| p.is_file())
}

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    /// The server's data directory (`<root>/<bucket>/<key>`).
    pub root: tempfile::TempDir,
    /// The key prefix of this server's `audio_url`.
    pub prefix: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts a server with an empty bucket, or `None` (printed) when `s3s-fs` is
    /// missing and DICTAFLOW_TEST_REQUIRE_S3 is unset.
    pub async fn start() -> Option<Self> {
        let Some(bin) = binary() else {
            assert!(!required(), "DICTAFLOW_TEST_REQUIRE_S3=1 but s3s-fs is not installed (see .ci/run)");
            eprintln!("skipping the S3 variant: s3s-fs is not installed (cargo install s3s-fs --features binary)");
            return None;
        };
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let server = Self { child, endpoint: format!("http://127.0.0.1:{port}"), root, prefix: "audio".into() };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("s3s-fs did not listen on port {port}");
    }

    pub fn audio_url(&self) -> String {
        format!("s3://{BUCKET}/{}", self.prefix)
    }

    /// Points a configuration's audio store at this server's bucket.
    pub fn configure(&self, config: &mut Config) {
        config.storage.audio_url = self.audio_url();
        let s3 = &mut config.storage.s3;
        s3.endpoint = self.endpoint.clone();
        s3.allow_http = true;
        s3.region = "us-east-1".into();
        s3.access_key_id = ACCESS_KEY.into();
        s3.secret_access_key = Secret::new(SECRET_KEY);
    }

    /// The same as `DICTAFLOW_*` variables, for `dictaflow` processes.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DICTAFLOW_STORAGE__AUDIO_URL", self.audio_url()),
            ("DICTAFLOW_STORAGE__S3__ENDPOINT", self.endpoint.clone()),
            ("DICTAFLOW_STORAGE__S3__ALLOW_HTTP", "true".into()),
            ("DICTAFLOW_STORAGE__S3__REGION", "us-east-1".into()),
            ("DICTAFLOW_STORAGE__S3__ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("DICTAFLOW_STORAGE__S3__SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }

    /// The objects in the bucket under this server's prefix (their names: the digests).
    pub fn objects(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.path().join(BUCKET).join(&self.prefix)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if path.is_dir() {
                    stack.push(path);
                } else if dictaflow::storage::blob::is_sha256_hex(&name) {
                    out.push(name);
                }
            }
        }
        out.sort();
        out
    }

    /// The file holding the object named by `sha256` on the server's disk.
    pub fn object_file(&self, sha256: &str) -> PathBuf {
        let dir = self.root.path().join(BUCKET).join(&self.prefix);
        dir.join(&sha256[..2]).join(&sha256[2..4]).join(sha256)
    }

    /// The files under the prefix's `incoming/` (uploads being committed).
    pub fn incoming(&self) -> Vec<String> {
        let dir = self.root.path().join(BUCKET).join(&self.prefix).join("incoming");
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect()
    }

    /// Stops the server (the bucket becomes unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
