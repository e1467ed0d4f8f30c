//! What one connection is doing, for its time limits: waiting for a request (idle),
//! receiving a request's headers, or serving a request. The socket wrapper [`Watched`]
//! notices the first bytes of a request, the service marks a request in progress with an
//! [`InFlight`] guard held until its response is sent, and [`Stall`] wraps the request
//! body to end an upload that stops sending.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

/// The time limits of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request to the end of its headers.
    pub header: Duration,
    /// With no request: before the first, or between keep-alive requests.
    pub idle: Duration,
    /// A request body with no bytes for this long ends the connection.
    pub body_stall: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle(Instant),
    Head(Instant),
    Busy(usize),
}

/// The shared state of one connection.
#[derive(Debug)]
pub struct Watch {
    phase: Mutex<Phase>,
    /// Wakes the connection task when its deadline moves.
    pub changed: Notify,
    /// Cancelled when a request body stalled.
    pub stalled: CancellationToken,
}

impl Watch {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
            stalled: CancellationToken::new(),
        })
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let Ok(mut phase) = self.phase.lock() else { return };
        let next = f(*phase);
        if next != *phase {
            *phase = next;
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: when no request was in progress, one's headers are starting.
    fn on_read(&self) {
        self.update(|p| match p {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            p => p,
        });
    }

    /// A request reached the service; the guard ends it.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.update(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        InFlight(self.clone())
    }

    /// When the connection's current time limit runs out, and what it limits.
    pub fn deadline(&self, t: &Timeouts) -> Option<(Instant, &'static str)> {
        match *self.phase.lock().ok()? {
            Phase::Idle(since) => Some((since + t.idle, "idle")),
            Phase::Head(since) => Some((since + t.header, "header")),
            Phase::Busy(_) => None,
        }
    }
}

/// A request in progress; dropped when its response has been sent (or abandoned).
#[derive(Debug)]
pub struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// A socket (plain or TLS) that reports incoming bytes to its [`Watch`].
pub struct Watched<S> {
    inner: S,
    watch: Arc<Watch>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, watch: Arc<Watch>) -> Self {
        Self { inner, watch }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.on_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The body stalled: no bytes for the configured time.
#[derive(Debug, thiserror::Error)]
#[error("no bytes of the request body for {0:?}")]
pub struct Stalled(Duration);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that fails, and stops its connection, when it waits longer than the
/// limit for the next bytes. The clock runs only while the reader waits on the client:
/// a handler that reads slowly, or late, is not the client's stall.
pub struct Stall<B> {
    inner: B,
    limit: Duration,
    waiting: Option<Pin<Box<Sleep>>>,
    watch: Arc<Watch>,
}

impl<B> Stall<B> {
    pub fn new(inner: B, limit: Duration, watch: Arc<Watch>) -> Self {
        Self { inner, limit, waiting: None, watch }
    }
}

impl<B> Body for Stall<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let limit = this.limit;
        let timer = this.waiting.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            this.watch.stalled.cancel();
            return Poll::Ready(Some(Err(Stalled(limit).into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_set_the_deadline() {
        let t = Timeouts {
            header: Duration::from_secs(15),
            idle: Duration::from_secs(75),
            body_stall: Duration::from_secs(60),
        };
        let watch = Watch::new();
        let (idle_until, reason) = watch.deadline(&t).unwrap();
        assert_eq!(reason, "idle");
        watch.on_read();
        let (header_until, reason) = watch.deadline(&t).unwrap();
        assert_eq!(reason, "header");
        assert!(header_until < idle_until);
        watch.on_read();
        assert_eq!(watch.deadline(&t).unwrap().0, header_until, "later bytes do not extend it");
        let request = watch.begin();
        assert_eq!(watch.deadline(&t), None, "a request in progress has no connection deadline");
        watch.on_read();
        assert_eq!(watch.deadline(&t), None, "its body bytes do not start a header");
        let second = watch.begin();
        drop(request);
        assert_eq!(watch.deadline(&t), None, "one request is still in progress");
        drop(second);
        let (again, reason) = watch.deadline(&t).unwrap();
        assert_eq!(reason, "idle");
        assert!(again >= idle_until, "idle counts from the end of the last request");
    }

    #[tokio::test]
    async fn a_body_that_waits_too_long_stalls_and_a_steady_one_does_not() {
        use http_body_util::{BodyExt, StreamBody};
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        let inner = StreamBody::new(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let watch = Watch::new();
        let mut body = Stall::new(inner, Duration::from_millis(600), watch.clone());
        // A frame every 100 ms, for longer than the limit in all.
        for _ in 0..10 {
            let sender = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                sender.send(Ok(Frame::data(Bytes::from_static(b"a")))).await.unwrap();
            });
            assert!(body.frame().await.unwrap().is_ok());
        }
        assert!(!watch.stalled.is_cancelled());
        let err = body.frame().await.unwrap().unwrap_err();
        assert_eq!(err.to_string(), "no bytes of the request body for 600ms");
        assert!(watch.stalled.is_cancelled());
    }
}
