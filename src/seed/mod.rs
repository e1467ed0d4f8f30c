//! `dictaflow dev seed`: fills a database with a realistic department for benchmarks and
//! demos: teams of clinicians, secretaries and leads, a manager over them all (one known password, API tokens
//! printed), and N dictations spread over the last weeks on the shipped workflows, at
//! every stage, with their due times, SLA states, history events and timers (fired,
//! cancelled or pending as the letter's life says). Rows are written with multi-row
//! inserts, a few thousand letters per transaction.

mod letters;
pub mod load;
pub mod rows;

use std::collections::HashMap;

use anyhow::Context;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::clock::Millis;
use crate::config::Config;
use crate::domain::Role;
use crate::storage::users::{self, NewUser};
use crate::storage::{BlobStore, Db, workflows};
use crate::workflow::service::defs;
use crate::workflow::{RoutingTable, WorkflowDef};

/// What to seed.
#[derive(Debug, Clone)]
pub struct Options {
    pub dictations: usize,
    /// Letters are spread over this many days before now.
    pub days: i64,
    /// Random seed: the same seed gives the same department and letters.
    pub seed: u64,
    /// Prefix of every username created (so a second run can use another).
    pub prefix: String,
}

/// The password every seeded user gets.
pub const PASSWORD: &str = "seed-password-1";

/// The display name of every seeded user: it marks them as seeded (and as having the
/// known password) wherever users are listed, and tells them from real users.
pub const SEEDED_DISPLAY_NAME: &str = "Seeded user (known password)";

/// Teams, with the specialty their letters carry.
const TEAMS: &[(&str, &str)] =
    &[("ent", "ENT"), ("cardiology", "Cardiology"), ("orthopaedics", "Orthopaedics"), ("gastro", "Gastroenterology")];
const CLINICIANS_PER_TEAM: usize = 6;
const SECRETARIES_PER_TEAM: usize = 5;

/// A seeded user.
#[derive(Debug, Clone)]
pub struct SeededUser {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub team: Option<String>,
    pub token: Option<String>,
}

/// What was written.
#[derive(Debug, Default)]
pub struct Report {
    pub users: Vec<SeededUser>,
    pub dictations: usize,
    pub open: usize,
    pub timers: usize,
    pub pending_timers: usize,
    pub events: usize,
}

/// The department's people, by team.
pub(crate) struct Team {
    pub name: String,
    pub specialty: String,
    pub clinicians: Vec<(String, String)>,
    pub secretaries: Vec<String>,
}

/// The stored routing table and workflows new letters would get.
pub(crate) struct Flows {
    pub routing: RoutingTable,
    pub defs: HashMap<String, (WorkflowDef, i64)>,
}

async fn flows(db: &Db) -> anyhow::Result<Flows> {
    let mut tx = db.begin_write().await?;
    let routing = workflows::routing_in(&mut tx).await?.context("no routing table is stored")?;
    let routing = defs::parse_stored_routing(&routing)?;
    let mut out = HashMap::new();
    for rule in &routing.rules {
        if out.contains_key(&rule.workflow) {
            continue;
        }
        let stored = workflows::workflow_in(&mut tx, &rule.workflow).await?.context("routed workflow missing")?;
        out.insert(rule.workflow.clone(), (defs::parse_stored(&stored)?, stored.version));
    }
    tx.rollback().await?;
    Ok(Flows { routing, defs: out })
}

async fn add(
    tx: &mut crate::storage::Tx,
    hash: &str,
    now: Millis,
    name: String,
    role: Role,
    team: Option<&str>,
) -> anyhow::Result<SeededUser> {
    let team_list: Vec<String> = team.map(String::from).into_iter().collect();
    let new = NewUser {
        username: &name,
        display_name: SEEDED_DISPLAY_NAME,
        role,
        password_hash: Some(hash),
        teams: &team_list,
    };
    let id = users::insert_user(tx, &new, now).await.map_err(|e| {
        if crate::storage::is_unique_violation(&e) {
            anyhow::anyhow!("user {name} exists already: seed with another --prefix")
        } else {
            e.into()
        }
    })?;
    Ok(SeededUser { id, username: name, role, team: team.map(String::from), token: None })
}

async fn add_users(db: &Db, prefix: &str, now: Millis) -> anyhow::Result<(Vec<SeededUser>, Vec<Team>)> {
    let hash = tokio::task::spawn_blocking(|| crate::auth::hash_password(PASSWORD)).await??;
    let mut tx = db.begin_write().await?;
    let mut seeded = Vec::new();
    let mut teams = Vec::new();
    seeded.push(add(&mut tx, &hash, now, format!("{prefix}.admin"), Role::Superuser, None).await?);
    for (team, specialty) in TEAMS {
        let mut t =
            Team { name: team.to_string(), specialty: specialty.to_string(), clinicians: vec![], secretaries: vec![] };
        seeded.push(add(&mut tx, &hash, now, format!("{prefix}.lead.{team}"), Role::TeamLead, Some(team)).await?);
        for i in 1..=CLINICIANS_PER_TEAM {
            let u = add(&mut tx, &hash, now, format!("{prefix}.dr.{team}.{i}"), Role::Clinician, Some(team)).await?;
            t.clinicians.push((u.id.clone(), u.username.clone()));
            seeded.push(u);
        }
        for i in 1..=SECRETARIES_PER_TEAM {
            let u = add(&mut tx, &hash, now, format!("{prefix}.sec.{team}.{i}"), Role::Secretary, Some(team)).await?;
            t.secretaries.push(u.id.clone());
            seeded.push(u);
        }
        teams.push(t);
    }
    // A directorate manager over every team (read-only).
    let all: Vec<String> = TEAMS.iter().map(|(t, _)| t.to_string()).collect();
    let name = format!("{prefix}.manager");
    let manager = NewUser {
        username: &name,
        display_name: SEEDED_DISPLAY_NAME,
        role: Role::Manager,
        password_hash: Some(&hash),
        teams: &all,
    };
    let id = users::insert_user(&mut tx, &manager, now).await?;
    seeded.push(SeededUser { id, username: name, role: Role::Manager, team: None, token: None });
    tx.commit().await?;
    for u in seeded.iter_mut().filter(|u| u.role != Role::Clinician) {
        let (token, token_hash) = crate::auth::new_token();
        users::insert_token(db, &u.id, &token_hash, "api", now, None).await?;
        u.token = Some(token);
    }
    Ok((seeded, teams))
}

/// A short tone stored once in the audio store; every seeded letter points at it (the
/// audio store is content-addressed, so this is what identical recordings look like).
async fn audio(config: &Config, blobs: &dyn BlobStore) -> anyhow::Result<letters::Audio> {
    let rate = 16_000u32;
    let samples: Vec<i16> =
        (0..rate).map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 3000.0) as i16).collect();
    let mut wav = Vec::with_capacity(44 + samples.len() * 2);
    let data_len = (samples.len() * 2) as u32;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    let mut pending = blobs.begin().await?;
    pending.write(&wav).await?;
    let staged = pending.finish().await?;
    let info = crate::audio::inspect(staged.path.clone(), crate::server::limits_of(config))
        .await
        .context("the seed's own audio does not decode")?;
    let audio = letters::Audio {
        sha256: staged.sha256.clone(),
        bytes: staged.bytes as i64,
        container: info.container.clone(),
        codec: info.codec.clone(),
        sample_rate: i64::from(info.sample_rate),
        channels: i64::from(info.channels),
        bits: info.bits_per_sample.map(i64::from),
        duration: info.duration_seconds,
        peak: f64::from(info.peak_dbfs),
        rms: f64::from(info.rms_dbfs),
    };
    blobs.commit(staged).await?;
    Ok(audio)
}

/// Seeds `db` (migrated) as of `now`.
pub async fn seed(
    config: &Config,
    db: &Db,
    blobs: &dyn BlobStore,
    opts: &Options,
    now: Millis,
) -> anyhow::Result<Report> {
    defs::seed(db, now).await?;
    let flows = flows(db).await?;
    let audio = audio(config, blobs).await?;
    let (users, teams) = add_users(db, &opts.prefix, now).await?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut report = Report { users, ..Default::default() };
    let mut writer = letters::Writer::new(audio);
    let started = std::time::Instant::now();
    for i in 0..opts.dictations {
        let team = &teams[i % teams.len()];
        writer.letter(&mut rng, &flows, team, i, now, opts.days)?;
        if writer.letters() >= 2_000 {
            writer.flush(db, &mut report).await?;
        }
    }
    writer.flush(db, &mut report).await?;
    let written = started.elapsed();
    // The seeded history went straight into `events`; the stage times follow from it.
    crate::storage::stage_times::rebuild(db).await?;
    tracing::info!(
        letters = report.dictations,
        rows_secs = written.as_secs_f64(),
        stage_times_secs = (started.elapsed() - written).as_secs_f64(),
        "seeded"
    );
    Ok(report)
}

/// `dictaflow dev ...`: tools for development and benchmarks.
#[derive(clap::Subcommand, Debug)]
pub enum DevCommand {
    /// Fill the database with a department and N dictations at every stage, with timers.
    Seed {
        /// How many dictations.
        #[arg(long, default_value_t = 10_000)]
        dictations: usize,
        /// Spread them over this many days before now.
        #[arg(long, default_value_t = 60)]
        days: i64,
        /// Random seed (the same seed gives the same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Prefix of the usernames created.
        #[arg(long, default_value = "seed")]
        prefix: String,
        /// Seed even though the database has users that `dev seed` did not create.
        #[arg(long)]
        force: bool,
    },
    /// Run scheduler ticks, each at the time when exactly N more pending timers are due,
    /// and print how long each took (the scheduler's cost per tick, for benchmarks).
    Tick {
        /// How many timers should be due at each tick.
        #[arg(long, default_value_t = 10)]
        due: i64,
        /// How many ticks, one after the other.
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
    /// Load a running server with claim/release pairs on distinct letters and print
    /// transitions per second and latency percentiles.
    Transitions {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// A secretary's API token (repeat for several secretaries).
        #[arg(long = "token", required = true)]
        tokens: Vec<String>,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Claim/release pairs to run.
        #[arg(long, default_value_t = 5000)]
        pairs: usize,
    },
    /// Load a running server with GET requests on one path (each client one request after
    /// the other) and print requests per second and latency percentiles.
    Reads {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// An API token.
        #[arg(long)]
        token: String,
        /// The path, e.g. /api/v1/oversight/at-risk.
        #[arg(long)]
        path: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// How long, in seconds.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
}

/// Runs a `dev` command: prints the users (password, tokens) and what was written.
pub async fn run(config: &Config, cmd: DevCommand) -> anyhow::Result<()> {
    let (dictations, days, rng_seed, prefix, force) = match cmd {
        DevCommand::Seed { dictations, days, seed, prefix, force } => (dictations, days, seed, prefix, force),
        DevCommand::Tick { due, runs } => {
            let db = Db::connect(&config.database_url(), 4).await?;
            db.migrate().await?;
            for _ in 0..runs.max(1) {
                tick(&db, due).await?;
            }
            return Ok(());
        }
        DevCommand::Transitions { url, tokens, concurrency, pairs } => {
            let r = load::run(url.trim_end_matches('/'), &tokens, concurrency.max(1), pairs).await?;
            let secs = r.elapsed.as_secs_f64();
            let (p50, p90, p99, max) = r.latency_ms;
            println!(
                "transitions: {} in {secs:.2} s = {:.0}/s with {concurrency} clients; failures {}; \
                 latency ms p50 {p50:.1} p90 {p90:.1} p99 {p99:.1} max {max:.1}",
                r.transitions,
                r.transitions as f64 / secs,
                r.failures
            );
            return Ok(());
        }
        DevCommand::Reads { url, token, path, concurrency, seconds } => {
            let duration = std::time::Duration::from_secs(seconds.max(1));
            let r = load::reads(url.trim_end_matches('/'), &token, &path, concurrency.max(1), duration).await?;
            let (p50, p90, p99, max) = r.latency_ms;
            println!(
                "reads {path}: {} in {:.2} s = {:.0}/s with {concurrency} clients; failures {}; \
                 latency ms p50 {p50:.1} p90 {p90:.1} p99 {p99:.1} max {max:.1}",
                r.transitions,
                r.elapsed.as_secs_f64(),
                r.transitions as f64 / r.elapsed.as_secs_f64(),
                r.failures
            );
            return Ok(());
        }
    };
    crate::domain::validate_username(&format!("{prefix}.admin")).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(days >= 1, "--days must be at least 1");
    let clock = crate::clock::Clock::system();
    eprintln!(
        "warning: every user dev seed creates has the known password {PASSWORD:?} and its API token is \
         printed; use it only on a development or benchmark database"
    );
    let (db, blobs) = crate::server::open_storage(config).await?;
    let real = real_users(&db).await?;
    if let Some(first) = real.first()
        && !force
    {
        anyhow::bail!(
            "refusing to seed: the database has {} users that dev seed did not create (e.g. {first:?}); \
             seeded users have a known password. Seed a development database, or pass --force",
            real.len()
        );
    }
    let started = std::time::Instant::now();
    let opts = Options { dictations, days, seed: rng_seed, prefix };
    let report = seed(config, &db, blobs.as_ref(), &opts, clock.now_ms()).await?;
    let secs = started.elapsed().as_secs_f64();
    println!("password (every seeded user): {PASSWORD}");
    for u in &report.users {
        if let Some(token) = &u.token {
            println!("token {} {} {} {token}", u.username, u.role, u.team.as_deref().unwrap_or("-"));
        }
    }
    println!(
        "seeded {} users, {} dictations ({} open), {} events, {} timers ({} pending) in {secs:.1} s",
        report.users.len(),
        report.dictations,
        report.open,
        report.events,
        report.timers,
        report.pending_timers,
    );
    Ok(())
}

/// The usernames of users `dev seed` did not create.
pub async fn real_users(db: &Db) -> anyhow::Result<Vec<String>> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT username FROM users WHERE display_name <> $1 ORDER BY username")
        .bind(SEEDED_DISPLAY_NAME)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(|r| r.try_get("username")).collect::<Result<_, _>>()?)
}

async fn tick(db: &Db, due: i64) -> anyhow::Result<()> {
    use sqlx::Row;
    anyhow::ensure!(due >= 1, "--due must be at least 1");
    let counts = sqlx::query(
        "SELECT COUNT(*) AS stored, SUM(CASE WHEN fired_at IS NULL AND cancelled_at IS NULL THEN 1 ELSE 0 END) AS pending \
         FROM timers",
    )
    .fetch_one(&db.pool)
    .await?;
    let stored: i64 = counts.try_get("stored")?;
    let pending: Option<i64> = counts.try_get("pending")?;
    let at: Option<Millis> = sqlx::query(
        "SELECT due_at FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL ORDER BY due_at LIMIT 1 OFFSET $1",
    )
    .bind(due - 1)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.try_get("due_at"))
    .transpose()?;
    let at = at.with_context(|| format!("fewer than {due} timers are pending"))?;
    let started = std::time::Instant::now();
    let report = crate::workflow::service::scheduler::fire_due_timers(db, at).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "tick: fired {} timers ({} notifications) in {ms:.2} ms; timers stored {stored}, pending before {}",
        report.fired.len(),
        report.notifications,
        pending.unwrap_or(0)
    );
    Ok(())
}
