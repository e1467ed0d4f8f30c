//! Hands messages to the configured SMTP server with `lettre`: STARTTLS, TLS or (for a
//! local relay) plain, with optional authentication and a private CA.

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{SmtpConfig, SmtpTls};

/// One email: a plain-text body, optionally an HTML alternative and a CSV attachment.
#[derive(Debug, Clone, Default)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// `(file name, CSV text)`.
    pub csv: Option<(String, String)>,
}

/// A connection pool to the SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer of `[smtp]`, or `None` when email is off. Errors name the key at fault.
    pub fn new(c: &SmtpConfig) -> anyhow::Result<Option<Self>> {
        if !c.enabled() {
            return Ok(None);
        }
        let from: Mailbox = c.from.parse().with_context(|| format!("smtp.from: {:?} is not an address", c.from))?;
        let mut params = TlsParameters::builder(c.host.clone());
        if let Some(path) = &c.ca_file {
            let pem = std::fs::read(path).with_context(|| format!("smtp.ca_file: cannot read {}", path.display()))?;
            let cert =
                Certificate::from_pem(&pem).with_context(|| format!("smtp.ca_file: {} is not PEM", path.display()))?;
            params = params.add_root_certificate(cert);
        }
        let params = params.build_rustls().context("smtp: cannot set up TLS")?;
        let tls = match c.tls {
            SmtpTls::Starttls => Tls::Required(params),
            SmtpTls::Tls => Tls::Wrapper(params),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
            .port(c.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(c.timeout_seconds.max(1))));
        if !c.username.is_empty() {
            builder = builder.credentials(Credentials::new(c.username.clone(), c.password.expose().to_string()));
        }
        Ok(Some(Mailer { transport: builder.build(), from }))
    }

    /// Sends one message; the error is a short reason for the outbox row and the log.
    pub async fn send(&self, email: &Email) -> Result<(), String> {
        let message = self.message(email)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            let reason = if e.is_permanent() {
                "refused by the server"
            } else if e.is_transient() {
                "deferred by the server"
            } else if e.is_timeout() {
                "timed out"
            } else if e.is_tls() {
                "TLS failed"
            } else {
                "cannot deliver"
            };
            format!("{reason}: {e}")
        })
    }

    fn message(&self, email: &Email) -> Result<Message, String> {
        let to: Mailbox = email.to.parse().map_err(|e| format!("bad recipient address: {e}"))?;
        let builder = Message::builder().from(self.from.clone()).to(to).subject(email.subject.clone());
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text.clone());
        let body = match &email.html {
            Some(html) => MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            None => MultiPart::mixed().singlepart(text),
        };
        let body = match &email.csv {
            Some((name, csv)) => {
                let csv_type = ContentType::parse("text/csv; charset=utf-8").map_err(|e| e.to_string())?;
                MultiPart::mixed().multipart(body).singlepart(Attachment::new(name.clone()).body(csv.clone(), csv_type))
            }
            None => body,
        };
        builder.multipart(body).map_err(|e| format!("cannot build the message: {e}"))
    }
}
