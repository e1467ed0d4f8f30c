//! Leasing due rows of an outbox table (webhook deliveries, emails): a row is taken by
//! one process at a time, and taken again when its holder's lease runs out (the holder
//! died mid-send). `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite writers take turns.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db, Tx};
use crate::clock::Millis;

/// An outbox table and the status its rows have while leased (the waiting one is `pending`).
#[derive(Debug, Clone, Copy)]
pub struct Outbox {
    pub table: &'static str,
    pub leased: &'static str,
}

impl Outbox {
    /// Leases up to `limit` rows that are due (or whose lease ran out) to `owner`, in
    /// `tx` (of a database on `backend`), counting an attempt for each; returns their ids,
    /// the most overdue first.
    #[allow(clippy::too_many_arguments)]
    pub async fn lease_due(
        self,
        tx: &mut Tx,
        backend: Backend,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let Outbox { table, leased } = self;
        let lock = if backend == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE {table} SET status = '{leased}', attempts = attempts + 1, lease_owner = $1, \
             lease_expires_at = $2 \
             WHERE id IN (SELECT id FROM {table} WHERE \
                 (status = 'pending' AND next_attempt_at <= $3) OR (status = '{leased}' AND lease_expires_at < $3) \
                 ORDER BY next_attempt_at, id LIMIT $4{lock}) \
             AND status IN ('pending', '{leased}') \
             RETURNING id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect()
    }

    /// Leases due rows to `owner` (as [`Outbox::lease_due`]) and reads each with `select`
    /// (a query taking the row's id as `$1`) through `read`, in one write transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim<T>(
        self,
        db: &Db,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: i64,
        select: &str,
        read: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        let mut tx = db.begin_write().await?;
        let ids = self.lease_due(&mut tx, db.backend, owner, now, lease_ms, limit).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            let row = sqlx::query(sqlx::AssertSqlSafe(select.to_string())).bind(id).fetch_one(&mut *tx).await?;
            out.push(read(&row)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The earliest time a row may need attention (`None`: nothing waiting).
    pub async fn next_due(self, db: &Db) -> Result<Option<Millis>, sqlx::Error> {
        let Outbox { table, leased } = self;
        let sql = format!(
            "SELECT MIN(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_expires_at END) AS due \
             FROM {table} WHERE status IN ('pending', '{leased}')"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&db.pool).await?.try_get("due")
    }
}
