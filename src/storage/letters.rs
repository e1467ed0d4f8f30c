//! Letter rows: a dictation's patient and recipient details, the users' signature fields,
//! the super-user's templates and the letterheads. The caller owns write transactions.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};
use crate::clock::Millis;

/// The details of a dictation's letter beyond the patient fields of the upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Details {
    /// Address lines, newline-separated.
    pub patient_address: String,
    pub gp_practice_name: String,
    pub gp_ods_code: String,
    pub gp_address: String,
    /// `gp` or `patient`.
    pub addressee: String,
    pub cc_patient: bool,
    /// One recipient a line.
    pub cc_others: String,
}

fn details_of(r: &AnyRow) -> Result<Details, sqlx::Error> {
    Ok(Details {
        patient_address: r.try_get("patient_address")?,
        gp_practice_name: r.try_get("gp_practice_name")?,
        gp_ods_code: r.try_get("gp_ods_code")?,
        gp_address: r.try_get("gp_address")?,
        addressee: r.try_get("addressee")?,
        cc_patient: r.try_get::<i64, _>("cc_patient")? != 0,
        cc_others: r.try_get("cc_others")?,
    })
}

const DETAIL_COLUMNS: &str =
    "patient_address, gp_practice_name, gp_ods_code, gp_address, addressee, cc_patient, cc_others";

pub async fn details(db: &Db, dictation_id: &str) -> Result<Option<Details>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {DETAIL_COLUMNS} FROM letter_details WHERE dictation_id = $1")))
        .bind(dictation_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| details_of(&r))
        .transpose()
}

/// Writes (or replaces) a dictation's details.
pub async fn put_details(
    tx: &mut Tx,
    dictation_id: &str,
    d: &Details,
    by: Option<&str>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO letter_details (dictation_id, {DETAIL_COLUMNS}, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dictation_id) DO UPDATE SET \
         patient_address = excluded.patient_address, gp_practice_name = excluded.gp_practice_name, \
         gp_ods_code = excluded.gp_ods_code, gp_address = excluded.gp_address, addressee = excluded.addressee, \
         cc_patient = excluded.cc_patient, cc_others = excluded.cc_others, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by"
    )))
    .bind(dictation_id)
    .bind(&d.patient_address)
    .bind(&d.gp_practice_name)
    .bind(&d.gp_ods_code)
    .bind(&d.gp_address)
    .bind(&d.addressee)
    .bind(i64::from(d.cc_patient))
    .bind(&d.cc_others)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_hospital_number(tx: &mut Tx, dictation_id: &str, value: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE dictations SET hospital_number = $1 WHERE id = $2")
        .bind(value)
        .bind(dictation_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A user's signature fields: (username, display name, grade, job title).
pub async fn signatory(db: &Db, user_id_or_name: &str) -> Result<Option<crate::letters::Signatory>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT username, display_name, grade, job_title FROM users WHERE id = $1 OR username = $1 \
         ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1",
    )
    .bind(user_id_or_name)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        let opt = |c: &str| r.try_get::<String, _>(c).map(|v| Some(v).filter(|v| !v.trim().is_empty()));
        Ok(crate::letters::Signatory {
            username: r.try_get("username")?,
            display_name: r.try_get("display_name")?,
            grade: opt("grade")?,
            job_title: opt("job_title")?,
        })
    })
    .transpose()
}

pub async fn set_signature_fields(
    tx: &mut Tx,
    user_id: &str,
    grade: Option<&str>,
    job_title: Option<&str>,
) -> Result<(), sqlx::Error> {
    if let Some(g) = grade {
        sqlx::query("UPDATE users SET grade = $1 WHERE id = $2").bind(g).bind(user_id).execute(&mut **tx).await?;
    }
    if let Some(j) = job_title {
        sqlx::query("UPDATE users SET job_title = $1 WHERE id = $2").bind(j).bind(user_id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A stored template.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredTemplate {
    pub letter_type: String,
    pub department: String,
    pub body: String,
    pub updated_at: Millis,
}

fn template_of(r: &AnyRow) -> Result<StoredTemplate, sqlx::Error> {
    Ok(StoredTemplate {
        letter_type: r.try_get("letter_type")?,
        department: r.try_get("department")?,
        body: r.try_get("body")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The template for a letter type: the department's, else the trust-wide one (`''`).
pub async fn template_for(db: &Db, letter_type: &str, department: &str) -> Result<Option<StoredTemplate>, sqlx::Error> {
    sqlx::query(
        "SELECT letter_type, department, body, updated_at FROM letter_templates \
         WHERE letter_type = $1 AND (department = $2 OR department = '') ORDER BY department DESC LIMIT 1",
    )
    .bind(letter_type)
    .bind(department)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| template_of(&r))
    .transpose()
}

pub async fn templates(db: &Db) -> Result<Vec<StoredTemplate>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT letter_type, department, body, updated_at FROM letter_templates ORDER BY letter_type, department",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(template_of).collect()
}

/// Stores a template; returns the body it replaced, if any.
pub async fn put_template(tx: &mut Tx, t: &StoredTemplate, by: &str) -> Result<Option<String>, sqlx::Error> {
    let before = sqlx::query("SELECT body FROM letter_templates WHERE letter_type = $1 AND department = $2")
        .bind(&t.letter_type)
        .bind(&t.department)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<String, _>("body"))
        .transpose()?;
    sqlx::query(
        "INSERT INTO letter_templates (letter_type, department, body, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (letter_type, department) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(&t.letter_type)
    .bind(&t.department)
    .bind(&t.body)
    .bind(t.updated_at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(before)
}

/// A stored letterhead (the logo base64-encoded PNG).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct StoredLetterhead {
    pub department: String,
    pub organisation: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    #[serde(skip)]
    pub logo_png: Option<String>,
    pub logo_width: Option<i64>,
    pub logo_height: Option<i64>,
}

/// The department's letterhead, else the trust's.
pub async fn letterhead_for(db: &Db, department: &str) -> Result<Option<StoredLetterhead>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT department, organisation, address, phone, email, logo_png, logo_width, logo_height FROM letterheads \
         WHERE department = $1 OR department = '' ORDER BY department DESC LIMIT 1",
    )
    .bind(department)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(StoredLetterhead {
            department: r.try_get("department")?,
            organisation: r.try_get("organisation")?,
            address: r.try_get("address")?,
            phone: r.try_get("phone")?,
            email: r.try_get("email")?,
            logo_png: r.try_get("logo_png")?,
            logo_width: r.try_get("logo_width")?,
            logo_height: r.try_get("logo_height")?,
        })
    })
    .transpose()
}

/// Stores a letterhead's text; the logo is kept unless `logo` is given (`Some(None)` removes it).
pub async fn put_letterhead(
    tx: &mut Tx,
    h: &StoredLetterhead,
    logo: Option<Option<(String, i64, i64)>>,
    by: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO letterheads (department, organisation, address, phone, email, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (department) DO UPDATE SET organisation = excluded.organisation, \
         address = excluded.address, phone = excluded.phone, email = excluded.email, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(&h.department)
    .bind(&h.organisation)
    .bind(&h.address)
    .bind(&h.phone)
    .bind(&h.email)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    if let Some(logo) = logo {
        let (png, w, h2) = match logo {
            Some((png, w, h)) => (Some(png), Some(w), Some(h)),
            None => (None, None, None),
        };
        sqlx::query("UPDATE letterheads SET logo_png = $1, logo_width = $2, logo_height = $3 WHERE department = $4")
            .bind(png)
            .bind(w)
            .bind(h2)
            .bind(&h.department)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An approval: (approver id, empty when automatic; at; draft version; text hash).
pub type ApprovalRow = (String, Millis, Option<i64>, Option<String>);

/// The latest approval of a dictation still in force, when the letter is approved or dispatched.
pub async fn approval(db: &Db, dictation_id: &str) -> Result<Option<ApprovalRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT e.actor_id, e.at, e.draft_version, e.text_sha256 FROM events e JOIN dictations d ON d.id = e.dictation_id \
         WHERE e.dictation_id = $1 AND e.to_status = 'approved' AND d.status IN ('approved', 'dispatched') \
         ORDER BY e.at DESC, e.id DESC LIMIT 1",
    )
    .bind(dictation_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        let actor: Option<String> = r.try_get("actor_id")?;
        Ok((actor.unwrap_or_default(), r.try_get("at")?, r.try_get("draft_version")?, r.try_get("text_sha256")?))
    })
    .transpose()
}

/// A dispatched letter's delivery, as claimed by the worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub dictation_id: String,
    /// This attempt's number (1-based).
    pub attempts: i64,
}

/// Queues the delivery of a letter being dispatched (in the dispatch's transaction).
pub async fn queue_delivery(tx: &mut Tx, dictation_id: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO letter_deliveries (id, dictation_id, status, attempts, next_at, created_at) \
         VALUES ($1, $2, 'pending', 0, $3, $3)",
    )
    .bind(super::new_id())
    .bind(dictation_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ids of pending deliveries due by `now` (including those whose lease ran out), oldest first.
pub async fn due_deliveries(db: &Db, now: Millis, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id FROM letter_deliveries WHERE status = 'pending' AND next_at <= $1 ORDER BY next_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Takes a due delivery for one attempt (its lease: `next_at` moved to `lease_until`), or
/// `None` when another worker took it first.
pub async fn claim_delivery(
    db: &Db,
    id: &str,
    now: Millis,
    lease_until: Millis,
) -> Result<Option<Delivery>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let taken = sqlx::query(
        "UPDATE letter_deliveries SET attempts = attempts + 1, next_at = $1 \
         WHERE id = $2 AND status = 'pending' AND next_at <= $3",
    )
    .bind(lease_until)
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() != 1 {
        return Ok(None);
    }
    let r = sqlx::query("SELECT id, dictation_id, attempts FROM letter_deliveries WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let d =
        Delivery { id: r.try_get("id")?, dictation_id: r.try_get("dictation_id")?, attempts: r.try_get("attempts")? };
    tx.commit().await?;
    Ok(Some(d))
}

pub async fn delivery_done(tx: &mut Tx, id: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE letter_deliveries SET status = 'done', done_at = $1, last_error = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delivery_failed(
    tx: &mut Tx,
    id: &str,
    give_up: bool,
    next_at: Millis,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE letter_deliveries SET status = $1, next_at = $2, last_error = $3 WHERE id = $4")
        .bind(if give_up { "failed" } else { "pending" })
        .bind(next_at)
        .bind(error)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A letter's deliveries, newest first: (status, attempts, last error, done at).
pub async fn deliveries_of(db: &Db, dictation_id: &str) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT status, attempts, last_error, created_at, done_at FROM letter_deliveries WHERE dictation_id = $1 \
         ORDER BY created_at DESC",
    )
    .bind(dictation_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let done: Option<Millis> = r.try_get("done_at")?;
            Ok(serde_json::json!({
                "status": r.try_get::<String, _>("status")?,
                "attempts": r.try_get::<i64, _>("attempts")?,
                "last_error": r.try_get::<Option<String>, _>("last_error")?,
                "queued_at": crate::clock::rfc3339(r.try_get("created_at")?),
                "done_at": done.map(crate::clock::rfc3339),
            }))
        })
        .collect()
}
