//! Slow and idle clients: a partial header, an idle keep-alive connection and a stalled
//! upload are closed by the server after their (here small) time limits, a slow but
//! steady upload is not, and connections over the per-address cap are refused while
//! other clients are still served. No SQL-specific behaviour: SQLite only.

use std::net::SocketAddr;
use std::time::Duration;

use dictaflow::config::Config;
use dictaflow::domain::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{Backend, TestApp, fixture, spawn_app_with};

/// Far beyond every limit these tests set: a connection still open then was not closed.
const BOUND: Duration = Duration::from_secs(20);

async fn app(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(Backend::Sqlite, tweak).await.expect("sqlite app")
}

fn addr(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// Reads until the server closes the connection; panics if it is still open after [`BOUND`].
async fn closed_by_server(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    assert!(tokio::time::timeout(BOUND, read_all).await.is_ok(), "{what}: the server never closed the connection");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_header_is_closed() {
    let app = app(|c| {
        c.server.header_timeout_seconds = 1;
        c.server.idle_timeout_seconds = 600;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let seen = closed_by_server(&mut stream, "partial header").await;
    assert!(!String::from_utf8_lossy(&seen).contains("200 OK"), "no request was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = app(|c| {
        c.server.header_timeout_seconds = 600;
        c.server.idle_timeout_seconds = 1;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let seen = closed_by_server(&mut stream, "idle keep-alive").await;
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"), "the request was answered first");
    // A connection that never sends a request is idle too.
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    assert!(closed_by_server(&mut silent, "silent connection").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_closed_and_a_slow_steady_one_succeeds() {
    let app = app(|c| c.server.body_stall_seconds = 1).await;
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;

    // Headers and part of the body, then nothing.
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    let head = format!(
        "POST /api/v1/dictations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n\r\nRIFF"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    closed_by_server(&mut stream, "stalled upload").await;

    // The same recording in small pieces, 300 ms apart: about 4 s in all, each gap well
    // inside the 1 s limit.
    let wav = fixture("speech_3s.wav");
    let pieces: Vec<Vec<u8>> = wav.chunks(wav.len() / 12 + 1).map(<[u8]>::to_vec).collect();
    let stream = futures_util::stream::unfold(pieces.into_iter(), |mut rest| async move {
        let piece = rest.next()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Some((Ok::<_, std::io::Error>(piece), rest))
    });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)).file_name("a.wav");
    let form = reqwest::multipart::Form::new().part("audio", part);
    let resp = app.client.post(app.url("/api/v1/dictations")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

/// A connection from `from` (another loopback address) to the app.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_cap_refuses_the_excess_and_others_are_served() {
    let app = app(|c| c.server.max_connections_per_address = 3).await;
    let to = addr(&app);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.2", to).await);
    }
    let mut excess = connect_from("127.0.0.2", to).await;
    // Whatever it sends, the refused connection is closed without an answer.
    let _ = excess.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(closed_by_server(&mut excess, "connection over the cap").await.is_empty());
    // Another client (127.0.0.1) is served while the three are held.
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // The held connections still work.
    let first = &mut held[0];
    first.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let seen = closed_by_server(first, "a held connection").await;
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
    // Its place is free again once it closed.
    drop(held.remove(0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from("127.0.0.2", to).await;
    again.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let seen = closed_by_server(&mut again, "a new connection in the freed place").await;
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
}
