//! The audit table: append inside the caller's write transaction (serialised on the
//! chain head), search with a cursor, and walk the whole chain (with its signed
//! checkpoints) in one snapshot for `audit verify`.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::NewEntry;
use super::anchor::Checkpoint;
use super::chain::{Break, Record, Verifier, hash_of};
use crate::clock::Millis;
use crate::storage::{Backend, Db, Tx};

/// Appends `entry` at `now` in `tx` (which the caller began with [`Db::begin_write`] and
/// commits). On SQLite the write transaction already excludes other writers; on
/// PostgreSQL the chain head row is locked until commit, so the chain stays linear.
pub async fn append(tx: &mut Tx, backend: Backend, entry: &NewEntry, now: Millis) -> Result<Record, sqlx::Error> {
    let mut records = append_all(tx, backend, std::slice::from_ref(&(entry, now))).await?;
    Ok(records.pop().expect("one entry in, one record out"))
}

/// Appends `entries` in order in `tx`, reading and moving the chain head once.
pub async fn append_all(
    tx: &mut Tx,
    backend: Backend,
    entries: &[(&NewEntry, Millis)],
) -> Result<Vec<Record>, sqlx::Error> {
    let head_sql = match backend {
        Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
    };
    let head = sqlx::query(head_sql).fetch_one(&mut **tx).await?;
    let (mut seq, mut prev_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let mut out = Vec::with_capacity(entries.len());
    for (entry, now) in entries {
        let mut record = Record {
            seq: seq + 1,
            at: *now,
            actor_id: entry.actor_id.clone(),
            actor: entry.actor.clone(),
            action: entry.action.to_string(),
            target_type: entry.target_type.clone(),
            target_id: entry.target_id.clone(),
            client_addr: entry.client_addr.clone(),
            user_agent: entry.user_agent.clone(),
            details: entry.details.to_string(),
            prev_hash,
            hash: String::new(),
        };
        record.hash = hash_of(&record);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor_id, actor, action, target_type, target_id, client_addr, \
             user_agent, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(record.seq)
        .bind(record.at)
        .bind(&record.actor_id)
        .bind(&record.actor)
        .bind(&record.action)
        .bind(&record.target_type)
        .bind(&record.target_id)
        .bind(&record.client_addr)
        .bind(&record.user_agent)
        .bind(&record.details)
        .bind(&record.prev_hash)
        .bind(&record.hash)
        .execute(&mut **tx)
        .await?;
        seq = record.seq;
        prev_hash = record.hash.clone();
        out.push(record);
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&prev_hash)
        .execute(&mut **tx)
        .await?;
    Ok(out)
}

/// Appends one entry in its own transaction.
pub async fn record(db: &Db, entry: &NewEntry, now: Millis) -> Result<Record, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let r = append(&mut tx, db.backend, entry, now).await?;
    tx.commit().await?;
    Ok(r)
}

fn record_of(row: &AnyRow) -> Result<Record, sqlx::Error> {
    Ok(Record {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor_id: row.try_get("actor_id")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        client_addr: row.try_get("client_addr")?,
        user_agent: row.try_get("user_agent")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

const COLUMNS: &str =
    "seq, at, actor_id, actor, action, target_type, target_id, client_addr, user_agent, details, prev_hash, hash";

/// Search filters; every one optional. Newest first; `before_seq` is the cursor.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

enum Arg {
    Text(String),
    Int(i64),
}

pub async fn search(db: &Db, s: &Search) -> Result<Vec<Record>, sqlx::Error> {
    let mut args = Vec::new();
    let mut clauses = Vec::new();
    let mut add = |clause: &str, arg: Arg| {
        args.push(arg);
        clauses.push(clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(v) = &s.actor {
        add("actor = ?", Arg::Text(v.clone()));
    }
    if let Some(v) = &s.action {
        // `auth.` matches every action in that family.
        if let Some(prefix) = v.strip_suffix('.') {
            add("action LIKE ?", Arg::Text(format!("{}.%", prefix.replace(['%', '_'], ""))));
        } else {
            add("action = ?", Arg::Text(v.clone()));
        }
    }
    if let Some(v) = &s.target {
        add("target_id = ?", Arg::Text(v.clone()));
    }
    if let Some(v) = s.from {
        add("at >= ?", Arg::Int(v));
    }
    if let Some(v) = s.to {
        add("at < ?", Arg::Int(v));
    }
    if let Some(v) = s.before_seq {
        add("seq < ?", Arg::Int(v));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", s.limit.clamp(1, 1001)));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for a in args {
        q = match a {
            Arg::Text(t) => q.bind(t),
            Arg::Int(i) => q.bind(i),
        };
    }
    q.fetch_all(&db.pool).await?.iter().map(record_of).collect()
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub rows: i64,
}

/// Starts a read transaction that sees one snapshot for all its statements (SQLite's
/// read transactions do; PostgreSQL needs REPEATABLE READ), so rows appended meanwhile by
/// a live server are simply not seen, instead of looking like a truncated chain.
async fn snapshot(db: &Db) -> Result<Tx, sqlx::Error> {
    let mut tx = db.begin_read().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    }
    Ok(tx)
}

/// Walks every row in order (in pages) in `tx` and checks links and hashes, calling
/// `each` with every checked row, then checks the head.
async fn walk(tx: &mut Tx, mut each: impl FnMut(&Record)) -> anyhow::Result<Result<Verified, Break>> {
    const PAGE: i64 = 1000;
    let mut v = Verifier::default();
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {PAGE}"
        )))
        .bind(after)
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            let r = record_of(row)?;
            if let Err(b) = v.check(&r) {
                return Ok(Err(b));
            }
            each(&r);
            after = r.seq;
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut **tx).await?;
    let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    Ok(v.finish(seq, &hash).map(|_| Verified { rows: v.last_seq() }))
}

/// Checks links, hashes and the head of the whole chain, in one snapshot.
pub async fn verify(db: &Db) -> anyhow::Result<Result<Verified, Break>> {
    let mut tx = snapshot(db).await?;
    let result = walk(&mut tx, |_| {}).await?;
    tx.commit().await?;
    Ok(result)
}

/// Why an anchored verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    #[error(transparent)]
    Chain(#[from] Break),
    #[error("checkpoint at seq {seq} ({origin}): {problem}")]
    Checkpoint { seq: i64, origin: &'static str, problem: String },
}

impl Finding {
    /// The sequence number of the first bad row (or of the checkpoint that disagrees).
    pub fn seq(&self) -> i64 {
        match self {
            Self::Chain(b) => b.seq(),
            Self::Checkpoint { seq, .. } => *seq,
        }
    }
}

/// What an anchored verification checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchored {
    pub rows: i64,
    pub checkpoints: usize,
}

/// The checkpoints stored in the database, oldest first.
async fn stored_checkpoints(tx: &mut Tx) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let rows = sqlx::query("SELECT seq, hash, rows, at, key_id, signature FROM audit_checkpoints ORDER BY seq")
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Checkpoint {
                seq: r.try_get("seq")?,
                hash: r.try_get("hash")?,
                rows: r.try_get("rows")?,
                at: r.try_get("at")?,
                key_id: r.try_get("key_id")?,
                signature: r.try_get("signature")?,
            })
        })
        .collect()
}

/// The chain as [`verify`] checks it, and every checkpoint (the database's and those of
/// `exported`, read before this call) in the same snapshot: signed by `public_key`, and
/// naming a row that is still in the chain with the same hash and position.
pub async fn verify_anchored(
    db: &Db,
    public_key: &[u8],
    exported: &[Checkpoint],
) -> anyhow::Result<Result<Anchored, Finding>> {
    let mut tx = snapshot(db).await?;
    let stored = stored_checkpoints(&mut tx).await?;
    let all: Vec<(&'static str, &Checkpoint)> =
        stored.iter().map(|c| ("database", c)).chain(exported.iter().map(|c| ("export file", c))).collect();
    let mut seen: std::collections::HashMap<i64, String> = all.iter().map(|(_, c)| (c.seq, String::new())).collect();
    let walked = walk(&mut tx, |r| {
        if let Some(h) = seen.get_mut(&r.seq) {
            *h = r.hash.clone();
        }
    })
    .await?;
    tx.commit().await?;
    let verified = match walked {
        Ok(v) => v,
        Err(b) => return Ok(Err(b.into())),
    };
    for (origin, c) in &all {
        let problem = if !c.is_signed_by(public_key) {
            "its signature does not verify under the signing key (forged, or another key)"
        } else if c.seq > verified.rows {
            "the row it names is no longer in the chain (rows were removed)"
        } else if seen.get(&c.seq).is_none_or(|h| *h != c.hash) {
            "the row it names has another hash now (the chain was rewritten)"
        } else {
            continue;
        };
        return Ok(Err(Finding::Checkpoint { seq: c.seq, origin, problem: problem.into() }));
    }
    Ok(Ok(Anchored { rows: verified.rows, checkpoints: all.len() }))
}
