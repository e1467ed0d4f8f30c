//! A user's work queue: letters they hold, and unheld letters open to them in a pool
//! stage (team leads: everything their teams hold too), most at risk first (breached,
//! then warning, then on track), then by due time.

use sqlx::Row;

use super::defs::cached_version;
use super::state::actor_of;
use crate::auth::policy::dictation_scope;
use crate::clock::Millis;
use crate::domain::Role;
use crate::storage::Db;
use crate::storage::dictations::visible_sql;
use crate::storage::users::User;
use crate::workflow::{DictationState, is_in_queue_of};

/// The risk bands, most urgent first. Within a band letters come by due time, in the
/// order of the open-letters index (`finished_at, due_at, warn_at, id`), so each band is
/// an index range read that stops as soon as the page is full: the cost follows the
/// letters shown, not the letters open. The warning time is written `+d.warn_at` so that
/// no band is read from the index by warning time instead (the oversight view's, whose
/// order would make each band a sort of every warned letter).
const BANDS: [&str; 4] = [
    "d.due_at <= $4 ORDER BY d.due_at, d.warn_at, d.id",
    "d.due_at > $4 AND +d.warn_at <= $4 ORDER BY d.due_at, d.warn_at, d.id",
    "d.due_at > $4 AND (+d.warn_at > $4 OR d.warn_at IS NULL) ORDER BY d.due_at, d.warn_at, d.id",
    "d.due_at IS NULL AND CAST($4 AS BIGINT) IS NOT NULL ORDER BY d.id",
];

/// One letter of a work queue: what a work list shows (the dictation's own fields; its
/// recognition, transcript and draft are read when it is opened).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub id: String,
    pub status: String,
    pub stage: Option<String>,
    pub workflow_name: Option<String>,
    pub workflow_version: Option<i64>,
    pub priority: String,
    pub specialty: Option<String>,
    pub letter_type: Option<String>,
    pub pool: Option<String>,
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub due_at: Option<Millis>,
    pub warn_at: Option<Millis>,
    pub sla_state: Option<String>,
    pub patient_name: Option<String>,
    pub patient_nhs_number: Option<String>,
    pub patient_dob: Option<String>,
    pub hospital_number: Option<String>,
    pub clinician: String,
    pub assignee: Option<String>,
}

impl QueueItem {
    /// The workflow state of this letter when no one holds it.
    fn unheld_state(&self) -> DictationState {
        DictationState {
            stage: self.stage.clone().unwrap_or_default(),
            clinician: self.clinician.clone(),
            assignee: None,
            pool: self.pool.clone(),
            previous_assignees: Default::default(),
        }
    }

    fn from_row(r: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            status: r.try_get("status")?,
            stage: r.try_get("stage")?,
            workflow_name: r.try_get("workflow_name")?,
            workflow_version: r.try_get("workflow_version")?,
            priority: r.try_get("priority")?,
            specialty: r.try_get("specialty")?,
            letter_type: r.try_get("letter_type")?,
            pool: r.try_get("pool")?,
            version: r.try_get("version")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            due_at: r.try_get("due_at")?,
            warn_at: r.try_get("warn_at")?,
            sla_state: r.try_get("sla_state")?,
            patient_name: r.try_get("patient_name")?,
            patient_nhs_number: r.try_get("patient_nhs_number")?,
            patient_dob: r.try_get("patient_dob")?,
            hospital_number: r.try_get("hospital_number")?,
            clinician: r.try_get("clinician")?,
            assignee: r.try_get("assignee")?,
        })
    }
}

/// The query for one risk band: $1 the user's id, $2 1 for a team lead, $3 1 for a
/// super-user, $4 now, $5 and $6 the rows to read and skip. Only letters the user may
/// open are listed: the queue's own conditions are narrowed by the one visibility rule
/// ([`visible_sql`]).
fn band_sql(band: &str, user: &User) -> String {
    let visible = visible_sql(&dictation_scope(user), "$1").map(|v| format!("AND {v}")).unwrap_or_default();
    format!(
        "SELECT d.id, d.status, d.stage, d.workflow_name, d.workflow_version, d.priority, d.specialty, \
           d.letter_type, d.pool, d.assignee_id, d.version, d.created_at, d.updated_at, d.due_at, d.warn_at, \
           d.sla_state, d.patient_name, d.patient_nhs_number, d.patient_dob, d.hospital_number, \
           c.username AS clinician, a.username AS assignee \
         FROM dictations d JOIN users c ON c.id = d.clinician_id LEFT JOIN users a ON a.id = d.assignee_id \
         WHERE d.finished_at IS NULL AND d.workflow_name IS NOT NULL AND ( \
           d.assignee_id = $1 \
           OR ($2 = 1 AND d.assignee_id IN (SELECT m2.user_id FROM team_members m1 \
               JOIN team_members m2 ON m1.team_id = m2.team_id WHERE m1.user_id = $1)) \
           OR (d.assignee_id IS NULL AND ($3 = 1 \
               OR d.clinician_id IN (SELECT m2.user_id FROM team_members m1 \
                   JOIN team_members m2 ON m1.team_id = m2.team_id WHERE m1.user_id = $1) \
               OR d.pool IN (SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id \
                   WHERE m.user_id = $1)))) \
         {visible} AND {band} LIMIT $5 OFFSET $6"
    )
}

/// The letters in `user`'s queue, in order, at most `limit`: breached, then warning,
/// then on track (then letters without a deadline), each by due time.
pub async fn queue_of(db: &Db, user: &User, now: Millis, limit: usize) -> anyhow::Result<Vec<QueueItem>> {
    let lead = i64::from(user.role == Role::TeamLead);
    let all = i64::from(user.role == Role::Superuser);
    let actor = actor_of(user);
    let mut out = Vec::new();
    for band in BANDS {
        let sql = band_sql(band, user);
        // Rows read per query: what the page still needs and a few more, for letters the
        // pool filter below drops; each further read of the band takes twice as many.
        let mut page = limit - out.len() + 8;
        let mut offset = 0usize;
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&user.id)
                .bind(lead)
                .bind(all)
                .bind(now)
                .bind(page as i64)
                .bind(offset as i64)
                .fetch_all(&db.pool)
                .await?;
            let n = rows.len();
            for r in rows {
                let holder: Option<String> = r.try_get("assignee_id")?;
                let item = QueueItem::from_row(&r)?;
                if holder.is_none() {
                    let (Some(name), Some(version)) = (&item.workflow_name, item.workflow_version) else {
                        continue;
                    };
                    let def = cached_version(db, name, version).await?;
                    if !is_in_queue_of(&def, &item.unheld_state(), &actor) {
                        continue;
                    }
                }
                out.push(item);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            if n < page {
                break;
            }
            offset += n;
            page *= 2;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{BlobStore, LocalBlobStore};

    /// Every letter of `user`'s queue, each band read whole in one query and filtered,
    /// and how many rows the queries matched before the filter.
    async fn whole_queue(db: &Db, user: &User, now: Millis) -> (Vec<String>, usize) {
        let lead = i64::from(user.role == Role::TeamLead);
        let all = i64::from(user.role == Role::Superuser);
        let (mut out, mut matched) = (Vec::new(), 0);
        for band in BANDS {
            let rows = sqlx::query(sqlx::AssertSqlSafe(band_sql(band, user)))
                .bind(&user.id)
                .bind(lead)
                .bind(all)
                .bind(now)
                .bind(-1i64)
                .bind(0i64)
                .fetch_all(&db.pool)
                .await
                .unwrap();
            matched += rows.len();
            for r in rows {
                let holder: Option<String> = r.try_get("assignee_id").unwrap();
                let item = QueueItem::from_row(&r).unwrap();
                if holder.is_none() {
                    let def =
                        cached_version(db, item.workflow_name.as_deref().unwrap(), item.workflow_version.unwrap())
                            .await
                            .unwrap();
                    if !is_in_queue_of(&def, &item.unheld_state(), &actor_of(user)) {
                        continue;
                    }
                }
                out.push(item.id);
            }
        }
        (out, matched)
    }

    /// A page is the head of the whole queue, whatever the limit, including when the pool
    /// filter drops many of the rows read and the band has to be read again further on
    /// (team leads: most unheld letters are at stages open to secretaries only).
    #[tokio::test]
    async fn pages_are_the_head_of_the_whole_queue() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/q.db?mode=rwc", dir.path().display()), 4).await.unwrap();
        db.migrate().await.unwrap();
        let blobs = LocalBlobStore::open(dir.path().join("audio")).await.unwrap();
        let mut config = crate::config::Config::default();
        config.storage.data_dir = dir.path().to_path_buf();
        let now = 1_780_000_000_000;
        let opts = crate::seed::Options { dictations: 1_500, days: 30, seed: 7, prefix: "q".into() };
        let report = crate::seed::seed(&config, &db, &blobs as &dyn BlobStore, &opts, now).await.unwrap();
        let mut dropped_some = false;
        for name in ["q.lead.ent", "q.sec.ent.1", "q.sec.gastro.3"] {
            let seeded = report.users.iter().find(|u| u.username == name).unwrap_or_else(|| panic!("{name} seeded"));
            let user = crate::storage::users::find_by_username(&db, &seeded.username).await.unwrap().unwrap();
            let (whole, matched) = whole_queue(&db, &user, now).await;
            assert!(whole.len() > 20, "{name} has a queue ({} letters)", whole.len());
            for limit in [1, 7, 20, 100, 500] {
                let page: Vec<String> =
                    queue_of(&db, &user, now, limit).await.unwrap().into_iter().map(|i| i.id).collect();
                let expected: Vec<String> = whole.iter().take(limit).cloned().collect();
                assert_eq!(page, expected, "{name}, limit {limit}");
            }
            dropped_some |= user.role == Role::TeamLead && matched > whole.len();
        }
        assert!(dropped_some, "the team lead's queue exercises the pool filter");
    }
}
