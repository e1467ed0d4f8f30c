//! The embedded assets: compiled into the binary, answered with a content type, an `ETag`
//! (a hash of the bytes) and `Cache-Control: no-cache`, so browsers revalidate cheaply with
//! `If-None-Match` and always run the code of the binary they talk to.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const INDEX_HTML: &str = include_str!("../../web/index.html");

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../web/", $path)) as &[u8])),*]
    };
}

/// Every file under `web/` that the application loads, by its path below `/assets/`.
const FILES: &[(&str, &[u8])] = assets![
    "app.css",
    "favicon.svg",
    "js/main.js",
    "js/api.js",
    "js/ui.js",
    "js/nhs.js",
    "js/transport.js",
    "js/diff.js",
    "js/draft_editor.js",
    "js/pages/login.js",
    "js/pages/new_dictation.js",
    "js/pages/my_dictations.js",
    "js/pages/dictation.js",
    "js/pages/queue.js",
    "js/pages/board.js",
    "js/pages/breaches.js",
    "js/pages/dashboard.js",
    "js/pages/workflows.js",
    "js/pages/diagram.js",
    "js/pages/vocabularies.js",
    "js/forms.js",
    "js/pages/users.js",
    "js/pages/audit.js",
    "js/pages/calendar.js",
    "js/pages/recognition.js",
    "js/pages/lexicon.js",
    "js/pages/letters.js",
    "js/pages/letter_details.js",
    "js/pages/notifications.js",
    "js/spell.js",
    "js/recorder.js",
    "js/kept_recordings.js",
    "js/resumable.js",
    "js/word_marks.js",
    "js/pedals.js",
];

struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    etag: String,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn table() -> &'static HashMap<&'static str, Asset> {
    static TABLE: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    TABLE.get_or_init(|| {
        FILES
            .iter()
            .map(|(path, bytes)| {
                let digest = Sha256::digest(bytes);
                let etag = format!("\"{}\"", hex::encode(&digest[..12]));
                (*path, Asset { bytes, content_type: content_type(path), etag })
            })
            .collect()
    })
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = table().get(path.as_str()) else {
        return ApiError::not_found("asset").into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let mut resp = if matches_etag(&headers, &asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut resp = asset.bytes.into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        resp
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_known_type_and_distinct_etag() {
        let t = table();
        assert_eq!(t.len(), FILES.len());
        for (path, asset) in t {
            assert_ne!(asset.content_type, "application/octet-stream", "{path}");
            assert!(!asset.bytes.is_empty(), "{path}");
        }
        let etags: std::collections::HashSet<_> = t.values().map(|a| &a.etag).collect();
        assert_eq!(etags.len(), t.len());
    }

    #[test]
    fn modules_import_only_embedded_files() {
        // A module importing a file that is not embedded would fail only in the browser.
        for (path, bytes) in FILES.iter().filter(|(p, _)| p.ends_with(".js")) {
            let text = std::str::from_utf8(bytes).unwrap();
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            // Every `from '...'` (imports may span lines) and `import('...')`.
            let specs = text.split("from '").skip(1).chain(text.split("import('").skip(1));
            let mut seen = 0;
            for rest in specs {
                let spec = rest.split('\'').next().unwrap_or_default();
                let resolved = resolve(dir, spec);
                assert!(table().contains_key(resolved.as_str()), "{path} imports {spec} ({resolved}), not embedded");
                seen += 1;
            }
            assert!(seen > 0 || !text.contains("import "), "{path}: imports not understood");
        }
        assert!(INDEX_HTML.contains("/assets/js/main.js"));
    }

    fn resolve(dir: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = if dir.is_empty() { vec![] } else { dir.split('/').collect() };
        for seg in spec.split('/') {
            match seg {
                "." => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        parts.join("/")
    }
}
