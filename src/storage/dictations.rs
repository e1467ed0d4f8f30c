//! Dictation rows: creation (with blob, job and event in one transaction), lookup and scoped listing.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Db, Tx, new_id};
use crate::clock::Millis;
use crate::domain::Priority;

/// What the upload recorded about the stored audio.
#[derive(Debug, Clone)]
pub struct AudioRecord {
    pub sha256: String,
    pub bytes: u64,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: Option<u32>,
    pub duration_seconds: f64,
    pub peak_dbfs: f32,
    pub rms_dbfs: f32,
    pub silent: bool,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewDictation {
    pub priority: Priority,
    pub specialty: Option<String>,
    pub letter_type: Option<String>,
    pub clinician_id: String,
    pub created_by: String,
    pub patient_nhs_number: Option<String>,
    pub patient_name: Option<String>,
    pub patient_dob: Option<String>,
    pub hospital_number: Option<String>,
    pub notes: Option<String>,
    pub original_filename: Option<String>,
    pub idempotency_key: Option<String>,
    pub audio: AudioRecord,
    /// Transcription attempts before the job is `failed`.
    pub max_attempts: i64,
}

/// Writes the blob reference, the dictation, its transcription job and the
/// `received` event. The caller commits.
pub async fn insert(tx: &mut Tx, d: &NewDictation, now: Millis) -> Result<String, sqlx::Error> {
    let id = new_id();
    let a = &d.audio;
    sqlx::query("INSERT INTO blobs (sha256, bytes, created_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
        .bind(&a.sha256)
        .bind(a.bytes as i64)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO dictations (id, status, stage, priority, specialty, letter_type, clinician_id, created_by, \
         patient_nhs_number, patient_name, patient_dob, hospital_number, notes, audio_sha256, audio_bytes, \
         audio_container, audio_codec, audio_sample_rate, audio_channels, audio_bits, audio_duration, \
         audio_peak_dbfs, audio_rms_dbfs, audio_silent, audio_warnings, original_filename, idempotency_key, \
         version, created_at, updated_at) VALUES ($1, 'received', 'recognition', $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, 1, $26, $26)",
    )
    .bind(&id)
    .bind(d.priority.as_str())
    .bind(&d.specialty)
    .bind(&d.letter_type)
    .bind(&d.clinician_id)
    .bind(&d.created_by)
    .bind(&d.patient_nhs_number)
    .bind(&d.patient_name)
    .bind(&d.patient_dob)
    .bind(&d.hospital_number)
    .bind(&d.notes)
    .bind(&a.sha256)
    .bind(a.bytes as i64)
    .bind(&a.container)
    .bind(&a.codec)
    .bind(i64::from(a.sample_rate))
    .bind(i64::from(a.channels))
    .bind(a.bits_per_sample.map(i64::from))
    .bind(a.duration_seconds)
    .bind(f64::from(a.peak_dbfs))
    .bind(f64::from(a.rms_dbfs))
    .bind(i64::from(a.silent))
    .bind(serde_json::to_string(&a.warnings).unwrap_or_else(|_| "[]".into()))
    .bind(&d.original_filename)
    .bind(&d.idempotency_key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO jobs (id, kind, dictation_id, priority_rank, status, attempts, max_attempts, progress, run_after, created_at) \
         VALUES ($1, 'transcribe', $2, $3, 'queued', 0, $5, 0, $4, $4)",
    )
    .bind(new_id())
    .bind(&id)
    .bind(d.priority.rank())
    .bind(now)
    .bind(d.max_attempts.max(1))
    .execute(&mut **tx)
    .await?;
    insert_event(tx, &id, now, Some(&d.created_by), "upload", None, Some("received"), None).await?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_event(
    tx: &mut Tx,
    dictation_id: &str,
    at: Millis,
    actor_id: Option<&str>,
    action: &str,
    from: Option<&str>,
    to: Option<&str>,
    comment: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (id, dictation_id, at, actor_id, action, from_status, to_status, comment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(dictation_id)
    .bind(at)
    .bind(actor_id)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn find_by_idempotency_key(db: &Db, user_id: &str, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT id FROM dictations WHERE created_by = $1 AND idempotency_key = $2")
        .bind(user_id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// Who may see which dictations.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Super-users see everything.
    All,
    /// Clinicians see their own dictations.
    OwnDictations(String),
    /// Secretaries and team leads see the dictations of clinicians who share a
    /// team with them, those routed to their teams' pools, and anything assigned to
    /// them (see [`visible_sql`]).
    Teams(String),
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub clinician: Option<String>,
    pub assignee: Option<String>,
    pub priority: Option<String>,
    pub due_before: Option<Millis>,
    /// Words that must each appear in the patient's name, NHS number or hospital number,
    /// the clinician, the specialty or the letter type (case-insensitive).
    pub search: Vec<String>,
    pub limit: i64,
    /// Continue after this (created_at, id), newest first.
    pub after: Option<(Millis, String)>,
}

/// A dictation joined with the names, job, transcript and draft that the API shows.
pub struct DictationView {
    pub row: AnyRow,
}

impl std::fmt::Debug for DictationView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DictationView { .. }")
    }
}

const VIEW_SELECT: &str = "SELECT d.*, c.username AS clinician_username, a.username AS assignee_username, \
    j.status AS job_status, j.progress AS job_progress, j.last_error AS job_error, j.attempts AS job_attempts, \
    t.model AS t_model, t.language AS t_language, t.text AS t_text, t.raw_text AS t_raw_text, \
    t.processing_seconds AS t_processing_seconds, \
    dr.version AS draft_version, dr.text AS draft_text, dr.updated_at AS draft_updated_at, du.username AS draft_updated_by \
    FROM dictations d JOIN users c ON c.id = d.clinician_id LEFT JOIN users a ON a.id = d.assignee_id \
    LEFT JOIN jobs j ON j.dictation_id = d.id AND j.kind = 'transcribe' \
    LEFT JOIN transcripts t ON t.dictation_id = d.id \
    LEFT JOIN drafts dr ON dr.dictation_id = d.id LEFT JOIN users du ON du.id = dr.updated_by";

/// A value bound to a query assembled at run time (`$1`, `$2`, ... in push order).
pub enum Arg {
    Text(String),
    Int(i64),
}

/// The one definition of which letters a user may see, as an SQL condition on the
/// dictation row `d`; `user` is the placeholder bound to the user's id (`$1`, ...).
/// `None` when the scope sees everything. Used by every read of one letter or a list
/// of them and by the work queue, so a queue never shows a letter its owner cannot open.
///
/// Secretaries and team leads see the letters they hold, those of clinicians who share a
/// team with them, and those routed to the pool of one of their teams.
pub fn visible_sql(scope: &Scope, user: &str) -> Option<String> {
    match scope {
        Scope::All => None,
        Scope::OwnDictations(_) => Some(format!("d.clinician_id = {user}")),
        Scope::Teams(_) => {
            let (held, clinician, pool) = team_rule(user);
            Some(format!("({held} OR {clinician} OR {pool})"))
        }
    }
}

/// The three ways a letter is visible under [`Scope::Teams`]: held by the user, of a
/// clinician who shares a team with them, routed to one of their teams' pools.
fn team_rule(user: &str) -> (String, String, String) {
    (
        format!("d.assignee_id = {user}"),
        format!(
            "d.clinician_id IN (SELECT m2.user_id FROM team_members m1 \
             JOIN team_members m2 ON m1.team_id = m2.team_id WHERE m1.user_id = {user})"
        ),
        format!(
            "d.pool IN (SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id \
             WHERE m.user_id = {user})"
        ),
    )
}

/// [`visible_sql`] as conditions that no letter meets twice and whose union is the rule,
/// each led by a column an index starts with (clinician, pool, holder): a count over the
/// visible letters is then a sum of index range counts, instead of the rule evaluated on
/// every open letter. `None` when the scope sees everything.
pub fn visible_parts(scope: &Scope, user: &str) -> Option<Vec<String>> {
    match scope {
        Scope::All => None,
        Scope::OwnDictations(_) => Some(vec![format!("d.clinician_id = {user}")]),
        Scope::Teams(_) => {
            let (held, clinician, pool) = team_rule(user);
            Some(vec![
                clinician.clone(),
                format!("{pool} AND NOT ({clinician})"),
                // `pool` is NULL outside pool stages: NOT (NULL IN ...) would drop the letter.
                format!("{held} AND NOT ({clinician}) AND (d.pool IS NULL OR NOT ({pool}))"),
            ])
        }
    }
}

/// The visibility condition of `scope` ([`visible_sql`]), its user id pushed onto `args`.
pub fn scope_clause(scope: &Scope, args: &mut Vec<Arg>) -> Option<String> {
    let (Scope::OwnDictations(user) | Scope::Teams(user)) = scope else { return None };
    args.push(Arg::Text(user.clone()));
    visible_sql(scope, &format!("${}", args.len()))
}

/// [`scope_clause`] and [`visible_parts`] over one placeholder of the user id.
pub fn scope_clause_and_parts(scope: &Scope, args: &mut Vec<Arg>) -> Option<(String, Vec<String>)> {
    let (Scope::OwnDictations(user) | Scope::Teams(user)) = scope else { return None };
    args.push(Arg::Text(user.clone()));
    let placeholder = format!("${}", args.len());
    Some((visible_sql(scope, &placeholder)?, visible_parts(scope, &placeholder)?))
}

/// One dictation if it exists and is in scope.
pub async fn get(db: &Db, id: &str, scope: &Scope) -> Result<Option<DictationView>, sqlx::Error> {
    let mut args = vec![Arg::Text(id.to_string())];
    let mut sql = format!("{VIEW_SELECT} WHERE d.id = $1");
    if let Some(clause) = scope_clause(scope, &mut args) {
        sql.push_str(" AND ");
        sql.push_str(&clause);
    }
    let row = bind_all(sqlx::query(AssertSqlSafe(sql)), args).fetch_optional(&db.pool).await?;
    Ok(row.map(|row| DictationView { row }))
}

/// A page of dictations, newest first.
pub async fn list(db: &Db, scope: &Scope, f: &ListFilter) -> Result<Vec<DictationView>, sqlx::Error> {
    let mut args = Vec::new();
    let mut clauses = Vec::new();
    if let Some(c) = scope_clause(scope, &mut args) {
        clauses.push(c);
    }
    let mut eq = |column: &str, value: &Option<String>, args: &mut Vec<Arg>| {
        if let Some(v) = value {
            args.push(Arg::Text(v.clone()));
            clauses.push(format!("{column} = ${}", args.len()));
        }
    };
    eq("d.status", &f.status, &mut args);
    eq("c.username", &f.clinician, &mut args);
    eq("a.username", &f.assignee, &mut args);
    eq("d.priority", &f.priority, &mut args);
    if let Some(due) = f.due_before {
        args.push(Arg::Int(due));
        clauses.push(format!("d.due_at IS NOT NULL AND d.due_at < ${}", args.len()));
    }
    for word in &f.search {
        let escaped = word.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        args.push(Arg::Text(format!("%{escaped}%")));
        let n = args.len();
        let cols = [
            "d.patient_name",
            "d.patient_nhs_number",
            "d.hospital_number",
            "c.username",
            "d.specialty",
            "d.letter_type",
        ];
        let any: Vec<String> = cols.iter().map(|c| format!("LOWER(COALESCE({c}, '')) LIKE ${n} ESCAPE '\\'")).collect();
        clauses.push(format!("({})", any.join(" OR ")));
    }
    if let Some((at, id)) = &f.after {
        args.push(Arg::Int(*at));
        let n = args.len();
        args.push(Arg::Text(id.clone()));
        clauses.push(format!("(d.created_at < ${n} OR (d.created_at = ${n} AND d.id < ${}))", n + 1));
    }
    let mut sql = VIEW_SELECT.to_string();
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    args.push(Arg::Int(f.limit));
    sql.push_str(&format!(" ORDER BY d.created_at DESC, d.id DESC LIMIT ${}", args.len()));
    let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), args).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|row| DictationView { row }).collect())
}

/// Binds `args` in order.
pub fn bind_all(
    mut q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

/// The segments JSON of a finished transcript (kept out of list queries).
pub async fn transcript_segments(db: &Db, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT segments FROM transcripts WHERE dictation_id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("segments"))
        .transpose()
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    /// Every combination of holder, clinician and pool (NULL included), for a caller in
    /// one team: each letter the rule shows meets exactly one of its parts, and each letter
    /// it hides meets none.
    #[tokio::test]
    async fn the_parts_of_the_rule_are_disjoint_and_make_the_rule() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        for sql in [
            "CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE team_members (team_id TEXT NOT NULL, user_id TEXT NOT NULL)",
            "CREATE TABLE letters (id INTEGER PRIMARY KEY, assignee_id TEXT, clinician_id TEXT NOT NULL, pool TEXT)",
            "INSERT INTO teams VALUES ('t1', 'ent'), ('t2', 'gastro')",
            "INSERT INTO team_members VALUES ('t1', 'me'), ('t1', 'dr_in'), ('t2', 'dr_out'), ('t2', 'sec_out')",
        ] {
            sqlx::query(sql).execute(&db.pool).await.unwrap();
        }
        let mut n = 0;
        for holder in [None, Some("me"), Some("sec_out")] {
            for clinician in ["dr_in", "dr_out"] {
                for pool in [None, Some("ent"), Some("gastro"), Some("nobody's")] {
                    n += 1;
                    sqlx::query("INSERT INTO letters VALUES ($1, $2, $3, $4)")
                        .bind(n)
                        .bind(holder)
                        .bind(clinician)
                        .bind(pool)
                        .execute(&db.pool)
                        .await
                        .unwrap();
                }
            }
        }
        for scope in [Scope::Teams("me".into()), Scope::OwnDictations("dr_in".into())] {
            let user = "$1";
            let whole = visible_sql(&scope, user).unwrap();
            let parts: Vec<String> = visible_parts(&scope, user)
                .unwrap()
                .iter()
                .map(|p| format!("CASE WHEN {p} THEN 1 ELSE 0 END"))
                .collect();
            let sql = format!(
                "SELECT CASE WHEN {whole} THEN 1 ELSE 0 END AS shown, {} AS parts FROM letters d ORDER BY d.id",
                parts.join(" + ")
            );
            let (Scope::Teams(id) | Scope::OwnDictations(id)) = &scope else { unreachable!() };
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_all(&db.pool).await.unwrap();
            assert_eq!(rows.len(), n as usize);
            let mut shown = 0;
            for r in rows {
                let (whole, parts): (i64, i64) = (r.try_get("shown").unwrap(), r.try_get("parts").unwrap());
                assert_eq!(parts, whole, "{scope:?}: a letter shown meets one part, a letter hidden none");
                shown += whole;
            }
            assert!(shown > 0 && shown < n, "{scope:?}: some letters shown, some hidden ({shown} of {n})");
        }
    }
}
