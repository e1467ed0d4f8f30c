//! A real SMTP server process for the email tests: `tests/smtp/server.py` on Python's
//! aiosmtpd (from PyPI, in a venv under the target directory) with STARTTLS on the test
//! certificate and AUTH, writing every message it accepts to a directory. Skipped with a
//! printed reason when it cannot be set up, unless `DICTAFLOW_TEST_REQUIRE_SMTP=1`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dictaflow::config::{Config, Secret};
use dictaflow::notify::SmtpTls;
use serde_json::Value;

use crate::helpers::venv_python;

pub const USER: &str = "dictaflow-mailer";
pub const PASSWORD: &str = "smtp-test-password";

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Starts a server on a free port and waits until it listens.
pub fn start() -> Option<SmtpServer> {
    let python = venv_python("smtp-venv", "aiosmtpd", "aiosmtpd>=1.4,<2", "DICTAFLOW_TEST_REQUIRE_SMTP")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tls = root().join("tests/fixtures/tls");
    let mut child = Command::new(python)
        .arg(root().join("tests/smtp/server.py"))
        .arg(dir.path())
        .arg(port.to_string())
        .arg(tls.join("cert.pem"))
        .arg(tls.join("key.pem"))
        .args([USER, PASSWORD])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the SMTP server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the SMTP server's start");
    assert_eq!(line.trim(), "READY", "the SMTP server did not start");
    Some(SmtpServer { child, port, dir })
}

impl SmtpServer {
    /// Points `config` at this server: STARTTLS with the test certificate as the CA, AUTH.
    pub fn configure(&self, c: &mut Config) {
        self.configure_as(c, PASSWORD);
    }

    /// The same with another password (which the server refuses unless it is [`PASSWORD`]).
    pub fn configure_as(&self, c: &mut Config, password: &str) {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = self.port;
        c.smtp.tls = SmtpTls::Starttls;
        c.smtp.username = USER.into();
        c.smtp.password = Secret::new(password);
        c.smtp.from = "dictaflow <dictaflow@trust.example>".into();
        c.smtp.ca_file = Some(root().join("tests/fixtures/tls/cert.pem"));
        c.smtp.timeout_seconds = 10;
        c.notify.base_url = "https://dictaflow.trust.example".into();
    }

    /// The decoded messages received so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p.with_extension("json")).unwrap()).unwrap())
            .collect()
    }

    /// Waits until `n` messages arrived (at most 20 s); returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} messages, got {:#?}", self.messages());
    }
}
