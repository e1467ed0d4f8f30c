//! Single sign-on identities: which user a provider's (issuer, subject) pair is bound to.
//! The caller owns the transaction.

use sqlx::Row;

use super::Tx;
use crate::clock::Millis;

/// A user's bound provider identity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Binding {
    pub issuer: String,
    pub subject: String,
    pub bound_at: Millis,
}

/// The id of the user bound to (issuer, subject), active or not.
pub async fn user_of(tx: &mut Tx, issuer: &str, subject: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT user_id FROM oidc_subjects WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("user_id"))
        .transpose()
}

/// The identity the user is bound to, if any.
pub async fn binding_of(tx: &mut Tx, user_id: &str) -> Result<Option<Binding>, sqlx::Error> {
    let row = sqlx::query("SELECT issuer, subject, created_at FROM oidc_subjects WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| {
        Ok(Binding { issuer: r.try_get("issuer")?, subject: r.try_get("subject")?, bound_at: r.try_get("created_at")? })
    })
    .transpose()
}

/// Binds the user to (issuer, subject). Fails with a unique violation when either side is
/// already bound.
pub async fn bind(tx: &mut Tx, issuer: &str, subject: &str, user_id: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO oidc_subjects (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(issuer)
        .bind(subject)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes the user's binding; returns what it was.
pub async fn unbind(tx: &mut Tx, user_id: &str) -> Result<Option<Binding>, sqlx::Error> {
    let before = binding_of(tx, user_id).await?;
    sqlx::query("DELETE FROM oidc_subjects WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(before)
}
