//! The multipart reader under hostile input: well-formed forms of any shape round-trip
//! or are refused by the bounds; mutated and arbitrary bodies never panic or hang; no
//! staged file outlives a refused form. Bounded so it runs in CI in seconds.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use proptest::prelude::*;

use super::*;
use crate::storage::LocalBlobStore;

const BOUNDARY: &str = "XyZzY-boundary";

/// A spec in the shape of the transcription endpoint's, with small bounds.
const SPEC: PartSpec<'static> = PartSpec {
    file: "file",
    texts: &["model", "prompt", "language"],
    max_file_bytes: 2048,
    max_text_bytes: 256,
    max_parts: 6,
};

fn form(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let filename = if name == "file" { "; filename=\"a.wav\"" } else { "" };
        body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Reads `body` as the endpoint would, within a time bound; the staged file (if any) is
/// checked against the bound and removed. Panics on a hang or a leftover temporary file.
/// The text parts and the staged file's size of a form that was read.
type Read = (Vec<(String, String)>, Option<u64>);

fn read(body: Vec<u8>) -> Result<Read, ApiError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = LocalBlobStore::open(dir.path()).await.expect("blob store");
        let req = Request::builder()
            .method("POST")
            .uri("/v1/audio/transcriptions")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(body))
            .expect("request");
        let invalid = |n: &str, m: String| ApiError::invalid_field(n, "validation_failed", m);
        let result = tokio::time::timeout(Duration::from_secs(10), async {
            let mut multipart = open_as_routed(req).await?;
            read_parts(&mut multipart, &SPEC, &blobs, &invalid).await
        })
        .await
        .expect("the reader finishes");
        let staged = staged_files(&dir.path().join("tmp"));
        match result {
            Ok(parts) => {
                assert!(parts.texts.len() + usize::from(parts.file.is_some()) <= SPEC.max_parts);
                assert!(parts.texts.iter().all(|(_, t)| t.len() <= SPEC.max_text_bytes));
                let bytes = parts.file.as_ref().map(|(s, _)| s.bytes);
                assert!(bytes.is_none_or(|b| b <= SPEC.max_file_bytes));
                assert_eq!(staged, usize::from(bytes.is_some()), "only the accepted file is staged");
                let texts = parts.texts.clone();
                parts.discard().await;
                Ok((texts, bytes))
            }
            Err(e) => {
                assert_eq!(staged, 0, "a refused form leaves no staged file ({e:?})");
                Err(e)
            }
        }
    })
}

/// `open_upload` behind the layer the upload routes carry (no default body limit: the
/// reader's own bound applies).
async fn open_as_routed(req: Request) -> ApiResult<Multipart> {
    use tower::{Layer, ServiceExt};
    let open = tower::service_fn(|req: Request| async move {
        Ok::<_, std::convert::Infallible>(open_upload(req, SPEC.max_file_bytes, "file").await)
    });
    let Ok(opened) = axum::extract::DefaultBodyLimit::disable().layer(open).oneshot(req).await;
    opened
}

fn part() -> impl Strategy<Value = (String, Vec<u8>)> {
    let name = prop::sample::select(vec!["file", "model", "prompt", "language", "other", ""]);
    let content = prop::collection::vec(any::<u8>(), 0..3000);
    let text =
        prop::collection::vec(prop::char::range('a', 'z'), 0..300).prop_map(|c| c.into_iter().collect::<String>());
    (name, prop_oneof![content, text.prop_map(String::into_bytes)]).prop_map(|(n, c)| (n.to_string(), c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// A well-formed form is read exactly, or refused for the first rule it breaks.
    #[test]
    fn well_formed_forms_round_trip_or_are_refused(parts in prop::collection::vec(part(), 0..10)) {
        let result = read(form(&parts));
        let files = parts.iter().filter(|(n, _)| n == "file").count();
        let unknown = parts.iter().any(|(n, _)| n != "file" && !SPEC.texts.contains(&n.as_str()));
        let long = parts.iter().any(|(n, c)| {
            if n == "file" { c.len() as u64 > SPEC.max_file_bytes } else { c.len() > SPEC.max_text_bytes }
        });
        let not_text = parts.iter().any(|(n, c)| n != "file" && std::str::from_utf8(c).is_err());
        let acceptable = parts.len() <= SPEC.max_parts && files <= 1 && !unknown && !long && !not_text;
        match result {
            Ok((texts, bytes)) => {
                prop_assert!(acceptable, "accepted {parts:?}");
                let sent: Vec<(String, String)> = parts
                    .iter()
                    .filter(|(n, _)| n != "file")
                    .map(|(n, c)| (n.clone(), String::from_utf8(c.clone()).unwrap()))
                    .collect();
                prop_assert_eq!(texts, sent);
                let file = parts.iter().find(|(n, _)| n == "file").map(|(_, c)| c.len() as u64);
                prop_assert_eq!(bytes, file);
            }
            Err(e) => {
                prop_assert!(!acceptable, "refused an acceptable form: {e:?}");
                if parts.len() > SPEC.max_parts && files <= 1 {
                    // Counting parts stops the stream whatever comes later in it.
                    prop_assert!(e.status().is_client_error());
                }
            }
        }
    }

    /// Random edits of a form (framing included) never panic, hang or exceed a bound.
    #[test]
    fn mutated_forms_stay_within_bounds(
        parts in prop::collection::vec(part(), 0..8),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, any::<u8>()), 1..16),
    ) {
        let mut body = form(&parts);
        for (at, kind, byte) in edits {
            let i = at.index(body.len() + 1);
            match kind {
                0 => body.insert(i, byte),
                1 if i < body.len() => { body.remove(i); }
                _ if i < body.len() => body[i] = byte,
                _ => body.push(byte),
            }
        }
        let _ = read(body);
    }

    /// Arbitrary bytes are refused or read within bounds.
    #[test]
    fn arbitrary_bodies_stay_within_bounds(body in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read(body);
    }
}

#[test]
fn many_small_parts_are_cut_off() {
    let parts: Vec<(String, Vec<u8>)> = (0..10_000).map(|_| ("prompt".to_string(), b"x".to_vec())).collect();
    let e = read(form(&parts)).unwrap_err();
    assert_eq!((e.status(), e.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
}

#[test]
fn a_body_past_the_limit_is_refused_whatever_it_declares() {
    // No Content-Length: a preamble that never reaches a boundary, longer than the bound.
    let body = vec![b'x'; (SPEC.max_file_bytes + MULTIPART_SLACK) as usize + 4096];
    let e = read(body).unwrap_err();
    assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE, "{e:?}");
}

/// Uploads being written under `tmp` (in this process's staging directory).
fn staged_files(tmp: &std::path::Path) -> usize {
    let dirs = std::fs::read_dir(tmp).expect("tmp").map(|e| e.expect("entry").path()).filter(|p| p.is_dir());
    dirs.flat_map(|d| std::fs::read_dir(d).expect("staging dir"))
        .filter(|f| f.as_ref().expect("entry").path().extension().is_some_and(|x| x == "part"))
        .count()
}
