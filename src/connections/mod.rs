//! Accepting and serving connections (plain HTTP or built-in TLS), with the limits that
//! keep slow and idle clients from holding the server: a header timeout, an idle
//! timeout, a body-stall timeout ([`watch`]), a total and a per-address connection cap
//! ([`caps`]), the open-file limit raised at start ([`nofile`]), and a brief back-off
//! when accepting fails (out of file descriptors) instead of spinning.

pub mod caps;
pub mod nofile;
pub mod watch;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use self::caps::{Admitted, Caps};
use self::watch::{Stall, Timeouts, Watch, Watched};
use crate::auth::client_addr::TrustedProxies;
use crate::config::ServerConfig;

/// Time the answer to a stalled request gets before its connection is closed.
const STALL_ANSWER_GRACE: Duration = Duration::from_secs(1);

/// The limits of a listener, from `server.*`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeouts: Timeouts,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub exempt: TrustedProxies,
}

impl Limits {
    /// The configured limits, the total cap fitted to the open-file limit `soft_nofile`.
    pub fn new(cfg: &ServerConfig, soft_nofile: Option<u64>) -> Self {
        Self {
            timeouts: Timeouts {
                header: Duration::from_secs(cfg.header_timeout_seconds),
                idle: Duration::from_secs(cfg.idle_timeout_seconds),
                body_stall: Duration::from_secs(cfg.body_stall_seconds),
            },
            max_connections: nofile::fitted_cap(cfg.max_connections, soft_nofile),
            max_connections_per_address: cfg.max_connections_per_address,
            exempt: TrustedProxies::new(&cfg.trusted_proxies),
        }
    }
}

/// Accepts connections until `shutdown`, then lets open connections finish their
/// current request.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let caps = Caps::new(limits.max_connections, limits.max_connections_per_address, limits.exempt.clone());
    let mut connections = tokio::task::JoinSet::new();
    let mut backoff = Backoff::default();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    backoff.wait(&e).await;
                    continue;
                }
            },
        };
        backoff.reset();
        // Over a cap: dropping the stream closes it.
        let Some(admitted) = caps.admit(peer.ip()) else { continue };
        let conn = Conn { peer, app: app.clone(), timeouts: limits.timeouts, shutdown: shutdown.clone(), admitted };
        connections.spawn(conn.run(stream, tls.clone()));
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Sleeps after a failed accept, longer each time in a row (50 ms up to 1 s), and logs
/// at most once a minute.
#[derive(Debug, Default)]
struct Backoff {
    delay: Option<Duration>,
    logged: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(1);

    async fn wait(&mut self, e: &std::io::Error) {
        crate::metrics::count("dictaflow_accept_errors_total", &[], 1.0);
        if self.logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            tracing::warn!(error = %e, "accept error; backing off (logged at most once a minute)");
            self.logged = Some(Instant::now());
        }
        let delay = self.delay.map_or(Self::FIRST, |d| (d * 2).min(Self::MAX));
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        self.delay = None;
    }
}

/// One accepted connection.
struct Conn {
    peer: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    shutdown: CancellationToken,
    /// Holds the connection's place under the caps until it ends.
    admitted: Admitted,
}

impl Conn {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        match tls {
            None => self.http(stream).await,
            Some(acceptor) => {
                if let Some(tls) = crate::tls::handshake(&acceptor, stream, self.peer).await {
                    self.http(tls).await
                }
            }
        }
    }

    /// Serves HTTP/1.1 on `io` until the client leaves, a time limit runs out, or the
    /// server shuts down.
    async fn http<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, io: S) {
        let Conn { peer, app, timeouts, shutdown, admitted: _admitted } = self;
        let watch = Watch::new();
        let service = {
            let watch = watch.clone();
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let in_flight = watch.begin();
                let mut req = req.map(|b| Body::new(Stall::new(b, timeouts.body_stall, watch.clone())));
                req.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let resp = app.oneshot(req).await.unwrap_or_else(|e: Infallible| match e {});
                    // The request ends when its response has been sent, not when it is made.
                    Ok::<_, Infallible>(resp.map(|b| {
                        Body::new(b.map_frame(move |f| {
                            let _held = &in_flight;
                            f
                        }))
                    }))
                }
            })
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            // hyper's own header timer also runs while a connection waits idle for its next
            // request; [`Watch`] tells the two apart, this is only a backstop.
            .header_read_timeout(timeouts.header + timeouts.idle)
            .serve_connection(TokioIo::new(Watched::new(io, watch.clone())), service)
            .with_upgrades();
        tokio::pin!(conn);
        loop {
            let deadline = watch.deadline(&timeouts);
            let expiry = async {
                match deadline {
                    Some((at, _)) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = expiry => {
                    // Still the same deadline (a request may have started meanwhile)?
                    if let Some((at, reason)) = watch.deadline(&timeouts)
                        && at <= tokio::time::Instant::now()
                    {
                        closed(peer, reason);
                        return;
                    }
                }
                _ = watch.changed.notified() => {}
                _ = watch.stalled.cancelled() => {
                    closed(peer, "body_stall");
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(STALL_ANSWER_GRACE, conn.as_mut()).await;
                    return;
                }
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                    return;
                }
            }
        }
    }
}

fn closed(peer: SocketAddr, reason: &'static str) {
    crate::metrics::count("dictaflow_connections_timed_out_total", &[("reason", reason)], 1.0);
    tracing::debug!(%peer, reason, "connection closed: time limit");
}
