//! Which dictaflow user a verified single sign-on identity is. A bound identity
//! (issuer, subject) is that user, whatever the username claim says now. An unbound
//! identity is a first sign-on: the username claim must name an active user with no
//! binding, who is then bound to it (audited) in the same transaction.

use serde_json::json;

use crate::audit::{Who, action, store as audit};
use crate::clock::Millis;
use crate::storage::users::{self, User};
use crate::storage::{Db, is_unique_violation, oidc_subjects};

/// A verified identity from the provider.
pub struct Identity<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    /// The configured username claim, when the token has it.
    pub username: Option<&'a str>,
}

/// Why an identity is not let in. The text goes to the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no active user {0:?}")]
    NoUser(String),
    #[error("the ID token has no username claim and its subject is not bound to a user")]
    NoClaim,
    /// The username claim names a user bound to another identity of the provider.
    #[error("the user {0:?} is bound to another identity of the provider")]
    BoundElsewhere(String),
}

/// The user signing in, and whether this sign-on bound them.
pub struct SignedIn {
    pub user: User,
    pub first: bool,
}

pub async fn resolve(db: &Db, who: &Who, id: &Identity<'_>, now: Millis) -> anyhow::Result<Result<SignedIn, Refusal>> {
    let mut read = db.begin_read().await?;
    let bound = oidc_subjects::user_of(&mut read, id.issuer, id.subject).await?;
    read.commit().await?;
    if let Some(user_id) = bound {
        return Ok(match users::find_active_by_id(db, &user_id).await? {
            Some(user) => Ok(SignedIn { user, first: false }),
            None => Err(Refusal::NoUser(user_id)),
        });
    }
    let Some(username) = id.username else { return Ok(Err(Refusal::NoClaim)) };
    let Some(user) = users::find_by_username(db, username).await? else {
        return Ok(Err(Refusal::NoUser(username.to_string())));
    };
    let mut tx = db.begin_write().await?;
    if oidc_subjects::binding_of(&mut tx, &user.id).await?.is_some() {
        return Ok(Err(Refusal::BoundElsewhere(user.username)));
    }
    match oidc_subjects::bind(&mut tx, id.issuer, id.subject, &user.id, now).await {
        Ok(()) => {}
        // A concurrent first sign-on bound this identity or this user first.
        Err(e) if is_unique_violation(&e) => return Ok(Err(Refusal::BoundElsewhere(user.username))),
        Err(e) => return Err(e.into()),
    }
    let details = json!({"username": user.username, "issuer": id.issuer, "subject": id.subject});
    let entry = who.entry(action::OIDC_BIND).by(&user.id, &user.username).target("user", &user.id).details(details);
    audit::append(&mut tx, db.backend, &entry, now).await?;
    tx.commit().await?;
    Ok(Ok(SignedIn { user, first: true }))
}
