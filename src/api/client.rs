//! The caller's address and user agent, for the audit trail and login throttling.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use crate::audit::Who;
use crate::auth::client_addr::TrustedProxies;
use crate::storage::users::User;

/// Where a request came from. The address is the socket peer, or `X-Forwarded-For`
/// when the peer is one of `server.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub addr: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let addr = TrustedProxies::new(&state.config.server.trusted_proxies).client(peer, &forwarded);
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Client { addr: addr.map(|a| a.to_string()), user_agent })
    }
}

impl Client {
    /// The audit identity of this request, acting as `user` (or anonymously).
    pub fn who(&self, user: Option<&User>) -> Who {
        Who {
            actor_id: user.map(|u| u.id.clone()),
            actor: user.map(|u| u.username.clone()),
            client_addr: self.addr.clone(),
            user_agent: self.user_agent.as_ref().map(|u| u.chars().take(512).collect()),
        }
    }
}
