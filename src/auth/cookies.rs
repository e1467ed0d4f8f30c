//! The browser session's cookies: their names (`__Host-` prefixed when cookies are
//! `Secure`), the `Set-Cookie` lines that start and end a session, and how many session
//! cookies a request carries (more than one is refused).

use axum::http::{HeaderMap, header};

/// The cookie names in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// The `HttpOnly` session token.
    pub session: &'static str,
    /// The readable CSRF token the browser copies into `X-CSRF-Token`.
    pub csrf: &'static str,
}

/// Over HTTPS the cookies are `__Host-` prefixed: the browser then keeps them only when
/// set by this origin over HTTPS with `Path=/` and no `Domain`, so a neighbouring host
/// cannot plant or shadow them.
pub fn names(secure: bool) -> Names {
    if secure {
        Names { session: "__Host-dictaflow_session", csrf: "__Host-dictaflow_csrf" }
    } else {
        Names { session: super::SESSION_COOKIE, csrf: super::CSRF_COOKIE }
    }
}

/// The `Set-Cookie` values that start a browser session: the session token and its CSRF
/// token, both for `max_age` seconds.
pub fn start(secure: bool, token: &str, csrf: &str, max_age: i64) -> [String; 2] {
    let n = names(secure);
    let flags = if secure { "; Secure" } else { "" };
    [
        format!("{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}", n.session),
        format!("{}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{flags}", n.csrf),
    ]
}

/// The `Set-Cookie` values that end a browser session.
pub fn end(secure: bool) -> [String; 2] {
    let n = names(secure);
    let flags = if secure { "; Secure" } else { "" };
    [
        format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{flags}", n.session),
        format!("{}=; Path=/; SameSite=Strict; Max-Age=0{flags}", n.csrf),
    ]
}

/// Every `name=value` pair of a request's `Cookie` headers, in order.
pub fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
}

/// How many cookies called `name` the request carries (in all its `Cookie` headers).
pub fn count(headers: &HeaderMap, name: &str) -> usize {
    pairs(headers).filter(|(k, _)| *k == name).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_are_host_prefixed_with_path_and_no_domain() {
        for line in start(true, "t", "c", 60).iter().chain(end(true).iter()) {
            assert!(line.starts_with("__Host-dictaflow_"), "{line}");
            assert!(line.contains("; Path=/;") && line.ends_with("; Secure"), "{line}");
            assert!(!line.to_ascii_lowercase().contains("domain="), "{line}");
        }
        let [session, csrf] = start(false, "t", "c", 60);
        assert!(session.starts_with("dictaflow_session=t; Path=/; HttpOnly"), "{session}");
        assert!(csrf.starts_with("dictaflow_csrf=c; Path=/;") && !csrf.contains("Secure"), "{csrf}");
    }

    #[test]
    fn session_cookies_are_counted_across_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; dictaflow_session=x".parse().unwrap());
        assert_eq!(count(&h, "dictaflow_session"), 1);
        h.append(header::COOKIE, "dictaflow_session=y".parse().unwrap());
        assert_eq!(count(&h, "dictaflow_session"), 2);
        assert_eq!(count(&h, "__Host-dictaflow_session"), 0);
    }
}
