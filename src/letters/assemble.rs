//! Putting a dictation's letter together from storage: its template (the super-user's for
//! the letter type and department, else the shipped one), the letterhead, the patient and
//! recipient details, the author's and the approver's signature fields, and the text.

use base64::Engine;
use chrono::NaiveDate;
use sqlx::Row;

use super::data::{Addressee, Approval, LetterData, Practice};
use super::template::{Template, shipped};
use super::{Letter, Letterhead, Logo};
use crate::storage::Db;
use crate::storage::dictations::DictationView;
use crate::storage::letters as store;

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// The template for a letter type and department: the super-user's, else the shipped one.
pub async fn template_for(db: &Db, letter_type: Option<&str>, department: &str) -> anyhow::Result<Template> {
    let stored = match letter_type {
        Some(t) => store::template_for(db, t, department).await?,
        None => None,
    };
    let text = stored.map(|t| t.body).unwrap_or_else(|| shipped(letter_type).to_string());
    Template::parse(&text).map_err(|e| anyhow::anyhow!("a stored letter template is invalid: {e:?}"))
}

/// The department's letterhead, else the trust's, else none.
pub async fn letterhead_for(db: &Db, department: &str) -> anyhow::Result<Letterhead> {
    let Some(h) = store::letterhead_for(db, department).await? else { return Ok(Letterhead::default()) };
    let logo = match (h.logo_png, h.logo_width, h.logo_height) {
        (Some(b64), Some(w), Some(hh)) => Some(Logo {
            bytes: base64::engine::general_purpose::STANDARD.decode(b64)?,
            width_px: u32::try_from(w)?,
            height_px: u32::try_from(hh)?,
        }),
        _ => None,
    };
    let opt = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    Ok(Letterhead {
        organisation: h.organisation,
        address: lines(&h.address),
        phone: opt(h.phone),
        email: opt(h.email),
        logo,
    })
}

fn col(view: &DictationView, name: &str) -> Option<String> {
    view.row.try_get::<Option<String>, _>(name).ok().flatten().filter(|s| !s.trim().is_empty())
}

/// Everything the letter of a dictation is made from; `today` dates a letter not yet approved.
pub async fn data(db: &Db, view: &DictationView, today: NaiveDate) -> anyhow::Result<LetterData> {
    let id = col(view, "id").unwrap_or_default();
    let details = store::details(db, &id).await?.unwrap_or_default();
    let clinician_name = col(view, "clinician_username").unwrap_or_default();
    let clinician = store::signatory(db, &clinician_name).await?.unwrap_or_default();
    let approval = match store::approval(db, &id).await? {
        Some((actor, at, draft_version, text_sha256)) => {
            // An automatic approval (a workflow that approves for the clinician) is the clinician's.
            let by = match actor.as_str() {
                "" => clinician.clone(),
                a => store::signatory(db, a).await?.unwrap_or_else(|| clinician.clone()),
            };
            Some(Approval { by, on: crate::clock::from_ms(at).date_naive(), draft_version, text_sha256 })
        }
        None => None,
    };
    let gp = Practice {
        name: details.gp_practice_name.clone(),
        ods_code: Some(details.gp_ods_code.clone()).filter(|c| !c.is_empty()),
        address: lines(&details.gp_address),
    };
    Ok(LetterData {
        letter_type: col(view, "letter_type"),
        department: col(view, "specialty"),
        date: Some(approval.as_ref().map_or(today, |a| a.on)),
        patient_name: col(view, "patient_name"),
        patient_dob: col(view, "patient_dob").and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
        nhs_number: col(view, "patient_nhs_number"),
        hospital_number: col(view, "hospital_number"),
        patient_address: lines(&details.patient_address),
        gp: Some(gp),
        addressee: if details.addressee == "patient" { Addressee::Patient } else { Addressee::Gp },
        cc_patient: details.cc_patient,
        cc_others: lines(&details.cc_others),
        clinician,
        approval,
        text: col(view, "draft_text").or_else(|| col(view, "t_text")).unwrap_or_default(),
    })
}

/// The letter of a dictation, with the data and the template it was made from (`template`
/// replaces the dictation's own, e.g. for a preview).
pub async fn assemble(
    db: &Db,
    view: &DictationView,
    today: NaiveDate,
    template: Option<Template>,
) -> anyhow::Result<(Letter, LetterData, Template)> {
    let data = data(db, view, today).await?;
    let department = data.department.clone().unwrap_or_default();
    let template = match template {
        Some(t) => t,
        None => template_for(db, data.letter_type.as_deref(), &department).await?,
    };
    let head = letterhead_for(db, &department).await?;
    Ok((template.render(&data, head), data, template))
}
