//! Authentication: argon2id password hashes, opaque bearer/session tokens (stored hashed),
//! CSRF tokens bound to sessions, and the `CurrentUser` extractor.

pub mod accounts;
pub mod client_addr;
pub mod cookies;
pub mod hashing;
pub mod oidc;
pub mod oidc_subject;
pub mod policy;
pub mod throttle;
pub mod throttled;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::domain::Role;
use crate::error::ApiError;
use crate::storage::users::{self, User};

pub const SESSION_COOKIE: &str = "dictaflow_session";
/// The readable cookie carrying the CSRF token (the browser copies it into [`CSRF_HEADER`]).
pub const CSRF_COOKIE: &str = "dictaflow_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the user does not exist, so that a wrong
/// username costs as much time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// A new random token (`dfl_` + 43 base64url characters) and its stored hash.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("dfl_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How a request presented its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Bearer(String),
    Cookie(String),
}

impl Presented {
    pub fn token(&self) -> &str {
        match self {
            Self::Bearer(t) | Self::Cookie(t) => t,
        }
    }
}

/// The value of the cookie called `name` in a request, if sent.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookies::pairs(&parts.headers).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The bearer token or, without an `Authorization` header, the session cookie (the
/// `__Host-` one when cookies are `secure`; see [`cookies::names`]).
pub fn presented(parts: &Parts, secure: bool) -> Option<Presented> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let (scheme, rest) = value.to_str().ok()?.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| Presented::Bearer(rest.trim().to_string()));
    }
    cookie(parts, cookies::names(secure).session).map(|v| Presented::Cookie(v.to_string()))
}

/// The bearer token or session cookie of a request, if any.
pub fn presented_token(parts: &Parts, secure: bool) -> Option<String> {
    presented(parts, secure).map(|p| match p {
        Presented::Bearer(t) | Presented::Cookie(t) => t,
    })
}

/// The CSRF token bound to a session: derived from the session token (a 256-bit secret
/// the page cannot read) with a domain-separated SHA-256, so it is unguessable without
/// the session and needs no storage.
pub fn csrf_token_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"dictaflow csrf v1\0");
    h.update(session_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a cookie-authenticated request carries the session's CSRF token. Safe
/// methods and bearer requests need none.
pub fn csrf_ok(parts: &Parts, presented: &Presented) -> bool {
    let Presented::Cookie(session) = presented else { return true };
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    constant_time_eq(sent.trim().as_bytes(), csrf_token_for(session).as_bytes())
}

pub fn csrf_failed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "CSRF check failed",
        format!(
            "a cookie-authenticated POST, PUT, PATCH or DELETE must send the {CSRF_COOKIE} (or __Host-{CSRF_COOKIE}) cookie's value \
             in the X-CSRF-Token header"
        ),
    )
}

/// The authenticated caller. Rejects with 401 problem+json, or 403 `csrf_failed` for a
/// cookie-authenticated unsafe request without the session's CSRF token.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl CurrentUser {
    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("the {} role may not do this", self.0.role)))
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = presented(parts, state.config.secure_cookies()).ok_or_else(ApiError::unauthorized)?;
        let user = users::user_for_token(&state.db, &token_hash(presented.token()), state.clock.now_ms())
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if !csrf_ok(parts, &presented) {
            return Err(csrf_failed());
        }
        Ok(CurrentUser(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
        assert_eq!(token_hash(&a), ha);
        assert_ne!(ha, a);
    }

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = axum::http::Request::builder().method(method).uri("/api/v1/x");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn csrf_rules() {
        let session = "dfl_session";
        let good = csrf_token_for(session);
        assert_ne!(good, csrf_token_for("dfl_other"));
        assert!(!good.contains(session));
        let cookie = format!("{SESSION_COOKIE}={session}; {CSRF_COOKIE}={good}");
        let p = parts("POST", &[("cookie", &cookie)]);
        let presented = presented(&p, false).unwrap();
        assert_eq!(presented, Presented::Cookie(session.into()));
        assert_eq!(super::presented(&p, true), None, "over HTTPS only the __Host- cookie counts");
        let host = parts("GET", &[("cookie", &format!("__Host-{SESSION_COOKIE}={session}"))]);
        assert_eq!(super::presented(&host, true), Some(Presented::Cookie(session.into())));
        assert_eq!(super::presented(&host, false), None);
        assert!(!csrf_ok(&p, &presented), "the cookie alone is not enough");
        assert!(csrf_ok(&parts("POST", &[("cookie", &cookie), (CSRF_HEADER, &good)]), &presented));
        assert!(!csrf_ok(&parts("DELETE", &[("cookie", &cookie), (CSRF_HEADER, "x")]), &presented));
        assert!(csrf_ok(&parts("GET", &[("cookie", &cookie)]), &presented));
        let p = parts("POST", &[("cookie", &cookie), ("authorization", "Bearer dfl_b")]);
        let bearer = super::presented(&p, false).unwrap();
        assert_eq!(bearer, Presented::Bearer("dfl_b".into()));
        assert!(csrf_ok(&p, &bearer), "bearer requests are exempt");
    }
}
