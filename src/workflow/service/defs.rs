//! Workflow and routing definitions as the server uses them: seeding the shipped files,
//! reading stored versions back, the calendars, and the names new files are checked against.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;

use crate::clock::Millis;
use crate::domain::Role;
use crate::storage::workflows::{self as store, StoredVersion};
use crate::storage::{CalendarFiles, Db, Memo, Tx};
use crate::timers::Calendar;
use crate::workflow::{
    RoutingTable, ValidationContext, ValidationError, WorkflowDef, calendar_file, defaults, parse_and_validate,
    parse_and_validate_routing,
};

/// The shipped calendar called `name` (England and Wales when no shipped file has that
/// name). Workflow due times use [`calendar_in`], which also knows `calendars.dir`.
pub fn calendar(name: &str) -> &'static Calendar {
    static SHIPPED: OnceLock<Vec<Calendar>> = OnceLock::new();
    let all = SHIPPED.get_or_init(calendar_file::shipped);
    all.iter().find(|c| c.name() == name).unwrap_or(&all[0])
}

/// The default calendar, for figures across workflows (the turnaround report).
pub fn default_calendar() -> &'static Calendar {
    calendar(calendar_file::DEFAULT_CALENDAR)
}

/// Installs the calendar files this process serves (shipped plus `calendars.dir`).
pub fn install_calendars(memo: &Memo, files: BTreeMap<String, Calendar>) {
    let files: CalendarFiles = Arc::new(files.into_iter().map(|(n, c)| (n, Arc::new(c))).collect());
    *memo.calendar_files.write().unwrap_or_else(|e| e.into_inner()) = files;
    memo.calendars.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Every calendar a workflow may name, by name: those installed, else the shipped ones.
pub fn calendars(memo: &Memo) -> CalendarFiles {
    let installed = memo.calendar_files.read().unwrap_or_else(|e| e.into_inner()).clone();
    if !installed.is_empty() {
        return installed;
    }
    static SHIPPED: OnceLock<CalendarFiles> = OnceLock::new();
    SHIPPED
        .get_or_init(|| {
            let all = calendar_file::shipped().into_iter().map(|c| (c.name().to_string(), Arc::new(c)));
            Arc::new(all.collect())
        })
        .clone()
}

/// The calendar file called `name`. A stored workflow always names a known one (checked
/// when saved); one whose file was since removed from `calendars.dir` gets the default,
/// with an error in the log.
fn calendar_file_of(memo: &Memo, name: &str) -> Arc<Calendar> {
    let all = calendars(memo);
    if let Some(c) = all.get(name) {
        return c.clone();
    }
    tracing::error!(calendar = name, "a workflow names a calendar that has no file; using england-and-wales");
    Arc::new(default_calendar().clone())
}

/// The calendar called `name` as new due times use it: its file plus the local
/// closures stored by super-users. Due times already computed are not recomputed when a
/// closure is added later: a letter keeps the deadline it was given (and was told).
pub async fn calendar_in(tx: &mut Tx, name: &str) -> Result<Calendar, sqlx::Error> {
    let closures = crate::storage::calendars::list_in(tx, name).await?;
    let base = calendar_file_of(&tx.memo, name);
    if closures.is_empty() {
        return Ok(Calendar::clone(&base));
    }
    Ok(Calendar::clone(&base).with_closures(closures.into_iter().map(|c| (c.day, c.reason))))
}

/// [`calendar_in`] outside a transaction.
pub async fn calendar_now(db: &Db, name: &str) -> Result<Arc<Calendar>, sqlx::Error> {
    if let Some(cal) = db.memo.calendar(name) {
        return Ok(cal);
    }
    let read_at = std::time::Instant::now();
    let closures = crate::storage::calendars::list(db, name).await?;
    let base = calendar_file_of(&db.memo, name);
    let cal = Arc::new(Calendar::clone(&base).with_closures(closures.into_iter().map(|c| (c.day, c.reason))));
    db.memo.keep_calendar(name, read_at, cal.clone());
    Ok(cal)
}

/// Stores the shipped workflows and routing table as version 1 when absent. Idempotent
/// and safe when several processes start at once (insert-or-ignore on the version key).
pub async fn seed(db: &Db, now: Millis) -> anyhow::Result<()> {
    for (name, yaml) in defaults::workflows() {
        if store::seed_workflow(db, name, yaml, now).await? {
            tracing::info!(workflow = name, "seeded workflow version 1");
        }
    }
    if store::seed_routing(db, defaults::ROUTING, now).await? {
        tracing::info!("seeded routing version 1");
    }
    Ok(())
}

/// Reads a stored workflow version (valid when stored; names are not re-checked).
/// Stored versions never change, so the parsed definition is kept, keyed by its text,
/// and every transition after the first skips the YAML parse.
pub fn parse_stored(v: &StoredVersion) -> anyhow::Result<WorkflowDef> {
    static PARSED: OnceLock<Mutex<HashMap<String, WorkflowDef>>> = OnceLock::new();
    let cache = PARSED.get_or_init(Default::default);
    if let Some(def) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&v.yaml) {
        return Ok(def.clone());
    }
    let def = parse_and_validate(&v.yaml, &ValidationContext::lenient()).map_err(|errors| {
        anyhow::anyhow!("stored workflow {} v{} no longer parses: {}", v.name, v.version, first(&errors))
    })?;
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MAX_PARSED {
        cache.clear();
    }
    cache.insert(v.yaml.clone(), def.clone());
    Ok(def)
}

/// Parsed workflow texts kept (a few per workflow are in use at any time).
const MAX_PARSED: usize = 256;

pub fn parse_stored_routing(v: &StoredVersion) -> anyhow::Result<RoutingTable> {
    parse_and_validate_routing(&v.yaml, &ValidationContext::lenient())
        .map_err(|errors| anyhow::anyhow!("stored routing v{} no longer parses: {}", v.version, first(&errors)))
}

fn first(errors: &[ValidationError]) -> String {
    errors.first().map(ToString::to_string).unwrap_or_default()
}

/// A stored workflow version, parsed, through the database's memo (read in a read
/// transaction when missing, so only committed versions are kept).
pub async fn cached_version(db: &Db, name: &str, version: i64) -> anyhow::Result<Arc<WorkflowDef>> {
    if let Some(def) = db.memo.workflow(name, version) {
        return Ok(def);
    }
    let mut tx = db.begin_read().await?;
    let def = read_version(&mut tx, name, version).await?;
    tx.commit().await?;
    Ok(def)
}

/// A workflow version from inside a transaction.
pub async fn load_version(tx: &mut Tx, name: &str, version: i64) -> anyhow::Result<WorkflowDef> {
    Ok(WorkflowDef::clone(&*read_version(tx, name, version).await?))
}

/// A version from the memo (read committed, and stored versions never change), else read
/// in `tx` and, when `tx` only reads (so what it sees is committed), kept in the memo.
async fn read_version(tx: &mut Tx, name: &str, version: i64) -> anyhow::Result<Arc<WorkflowDef>> {
    if let Some(def) = tx.memo.workflow(name, version) {
        return Ok(def);
    }
    let row = sqlx::query(
        "SELECT name, version, yaml, created_at, NULL AS created_by FROM workflow_versions WHERE name = $1 AND version = $2",
    )
    .bind(name)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?
    .with_context(|| format!("workflow {name} v{version} is not stored"))?;
    use sqlx::Row;
    let v = StoredVersion {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        yaml: row.try_get("yaml")?,
        created_at: row.try_get("created_at")?,
        created_by: None,
    };
    let def = Arc::new(parse_stored(&v)?);
    if tx.read_only {
        tx.memo.keep_workflow(name, version, def.clone());
    }
    Ok(def)
}

/// The names a new workflow or routing file may refer to, from the database. `extra` is
/// a workflow name being created by the same request.
pub async fn context(db: &Db, extra: Option<&str>) -> anyhow::Result<ValidationContext> {
    let (teams, users, flows) = store::known_names(db).await?;
    let mut ctx = ValidationContext::with_defaults();
    ctx.known_roles = Role::ALL.iter().map(|r| r.as_str().to_string()).collect();
    ctx.known_teams = teams.into_iter().collect();
    ctx.known_users = users.into_iter().collect();
    ctx.known_workflows.extend(flows);
    ctx.known_workflows.extend(extra.map(String::from));
    ctx.known_calendars = calendars(&db.memo).keys().cloned().collect();
    Ok(ctx)
}
