//! Storage: the database (SQLite embedded or PostgreSQL, chosen by URL) and the audio blob store.

pub mod accounts;
pub mod blob;
pub mod calendars;
pub mod dictations;
pub mod email_outbox;
pub mod history;
pub mod lease;
pub mod letters;
pub mod notifications;
pub mod notify_settings;
pub mod oidc_subjects;
pub mod partial;
pub mod recognition;
pub mod reconcile;
pub mod stage_times;
pub mod timers;
pub mod uploads;
pub mod user_settings;
pub mod users;
pub mod webhooks;
pub mod weekly_reports;
pub mod workflows;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use blob::{BlobStore, LocalBlobStore, S3BlobStore, StagedBlob};

/// A database transaction. Write transactions on SQLite also hold this process's turn
/// at the database's single write lock (see [`Db::begin_write`]) until they end.
pub struct Tx {
    // Declared first so that it is dropped (and rolled back) before the turn is passed on.
    inner: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The database's memo. A write transaction only reads from it (what it reads may be
    /// its own, yet to be rolled back); a read transaction ([`Db::begin_read`]) sees only
    /// committed rows and may add to it.
    pub memo: Arc<Memo>,
    /// Started by [`Db::begin_read`]: it writes nothing, so what it reads is committed.
    pub read_only: bool,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}

/// How long a SQLite writer waits for its turn in this process before it goes to the
/// database's own lock anyway (where `busy_timeout` applies, as without the queue).
const WRITE_TURN_WAIT: Duration = Duration::from_secs(10);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle shared by the whole process.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite writers of this process take turns here, first come first served, instead
    /// of polling the file lock (SQLite's busy handler sleeps between tries, up to 100 ms,
    /// which idles the database and gives writers under load second-long waits).
    write_turn: Arc<tokio::sync::Semaphore>,
    /// The URL it was opened with (PostgreSQL `LISTEN` needs a connection of its own).
    url: Arc<str>,
    /// What listings read on every request and almost never changes, kept in memory.
    pub memo: Arc<Memo>,
}

/// Read-through caches of one database, for the hot read paths (work lists, views).
#[derive(Default)]
pub struct Memo {
    /// Parsed workflow versions by name and version. A stored version never changes, so
    /// an entry never goes stale; entries are only made from committed reads.
    pub workflows: std::sync::Mutex<std::collections::HashMap<(String, i64), Arc<crate::workflow::WorkflowDef>>>,
    /// Calendars with their local closures, by name, and when they were read. This
    /// process's closure edits drop the entry; another process's (PostgreSQL) are seen
    /// within [`Memo::CALENDAR_TTL`]. Only displayed figures (working time left) use it:
    /// due times are computed from the closures read inside their own transaction.
    pub calendars:
        std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Arc<crate::timers::Calendar>)>>,
    /// The calendar files this process was started with, by name (shipped and
    /// `calendars.dir`); empty until the server installs them.
    pub calendar_files: std::sync::RwLock<CalendarFiles>,
}

/// Working calendars by name, as read from their files.
pub type CalendarFiles = Arc<std::collections::BTreeMap<String, Arc<crate::timers::Calendar>>>;

impl Memo {
    pub const CALENDAR_TTL: Duration = Duration::from_secs(5);

    pub fn workflow(&self, name: &str, version: i64) -> Option<Arc<crate::workflow::WorkflowDef>> {
        lock(&self.workflows).get(&(name.to_string(), version)).cloned()
    }

    /// Keeps a workflow version read from committed rows.
    pub fn keep_workflow(&self, name: &str, version: i64, def: Arc<crate::workflow::WorkflowDef>) {
        lock(&self.workflows).insert((name.to_string(), version), def);
    }

    /// The calendar called `name` if it was read less than [`Memo::CALENDAR_TTL`] ago.
    pub fn calendar(&self, name: &str) -> Option<Arc<crate::timers::Calendar>> {
        lock(&self.calendars).get(name).filter(|(at, _)| at.elapsed() < Self::CALENDAR_TTL).map(|(_, c)| c.clone())
    }

    /// Keeps the calendar called `name` as it was read at `read_at`.
    pub fn keep_calendar(&self, name: &str, read_at: std::time::Instant, calendar: Arc<crate::timers::Calendar>) {
        lock(&self.calendars).insert(name.to_string(), (read_at, calendar));
    }

    pub fn forget_calendar(&self, name: &str) {
        lock(&self.calendars).remove(name);
    }
}

/// A memo's map; a panic elsewhere while it was held leaves it usable (it only caches).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("Db").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Db {
    /// Connects to `url` (`sqlite:` or `postgres://`), creating a SQLite file if needed.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let options = AnyConnectOptions::from_str(url).context("invalid database URL")?;
        let mut pool_options =
            AnyPoolOptions::new().max_connections(max_connections.max(1)).acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_parent_dir(url) {
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            // A SQLite connection is a file handle in this process: it cannot go stale the
            // way a network connection can, so it is not pinged (one more round trip to its
            // thread) every time it is taken from the pool.
            pool_options = pool_options.test_before_acquire(false).after_connect(|conn, _meta| {
                Box::pin(async move {
                    // mmap_size: reads are served from the file's pages in the OS cache
                    // instead of being copied into each connection's page cache, which
                    // every commit (by any connection) empties under WAL.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; \
                         PRAGMA mmap_size = 1073741824;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the {backend:?} database"))?;
        Ok(Self {
            pool,
            backend,
            write_turn: Arc::new(tokio::sync::Semaphore::new(1)),
            url: Arc::from(url),
            memo: Arc::default(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies pending migrations (idempotent; safe with several processes).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("database migration failed")?;
        stage_times::backfill_if_pending(self).await.context("filling in the stage times")?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it waits for this process's write turn, then
    /// takes the write lock up front (`BEGIN IMMEDIATE`) so that concurrent writers queue
    /// instead of failing when a read transaction tries to upgrade.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                // The connection first, so that the turn is spent on the database only.
                let conn = self.pool.acquire().await?;
                let turn = tokio::time::timeout(WRITE_TURN_WAIT, self.write_turn.clone().acquire_owned()).await;
                let turn = turn.ok().and_then(Result::ok);
                let begin = sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE");
                Ok(Tx {
                    inner: sqlx::Transaction::begin(conn, Some(begin)).await?,
                    _turn: turn,
                    memo: self.memo.clone(),
                    read_only: false,
                })
            }
            Backend::Postgres => {
                Ok(Tx { inner: self.pool.begin().await?, _turn: None, memo: self.memo.clone(), read_only: false })
            }
        }
    }

    /// Starts a transaction for reading (a consistent view across several queries); it
    /// must not write.
    pub async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        Ok(Tx { inner: self.pool.begin().await?, _turn: None, memo: self.memo.clone(), read_only: true })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}

fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path).parent().map(|p| p.to_path_buf()).filter(|p| !p.as_os_str().is_empty())
}

/// True when the error is a unique-constraint violation (either backend).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || db.code().is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_dirs() {
        assert_eq!(sqlite_parent_dir("sqlite://data/x.db?mode=rwc"), Some("data".into()));
        assert_eq!(sqlite_parent_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_parent_dir("sqlite://x.db"), None);
    }
}
