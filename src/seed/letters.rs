//! One seeded letter: routed like a real upload, moved some way along its workflow by
//! its age, with the rows that life leaves (dictation, history events, timers).

use rand::Rng;
use rand::rngs::StdRng;

use super::rows::{Batch, Val};
use super::{Flows, Report, Team};
use crate::clock::{Millis, from_ms};
use crate::storage::{Db, new_id};
use crate::timers::deadlines;
use crate::workflow::Priority;
use crate::workflow::service::defs::calendar;
use crate::workflow::{RouteQuery, WorkflowDef};

const DAY: Millis = 86_400_000;

/// The stored recording every seeded letter points at.
#[derive(Debug, Clone)]
pub struct Audio {
    pub sha256: String,
    pub bytes: i64,
    pub container: String,
    pub codec: String,
    pub sample_rate: i64,
    pub channels: i64,
    pub bits: Option<i64>,
    pub duration: f64,
    pub peak: f64,
    pub rms: f64,
}

const DICTATION_COLUMNS: &[&str] = &[
    "id",
    "status",
    "stage",
    "workflow_name",
    "workflow_version",
    "priority",
    "specialty",
    "letter_type",
    "clinician_id",
    "assignee_id",
    "created_by",
    "patient_name",
    "hospital_number",
    "audio_sha256",
    "audio_bytes",
    "audio_container",
    "audio_codec",
    "audio_sample_rate",
    "audio_channels",
    "audio_bits",
    "audio_duration",
    "audio_peak_dbfs",
    "audio_rms_dbfs",
    "audio_silent",
    "audio_warnings",
    "due_at",
    "version",
    "created_at",
    "updated_at",
    "pool",
    "routing_rule",
    "assign_strategy",
    "stage_entered_at",
    "warn_at",
    "sla_state",
    "finished_at",
    "secretary_id",
];
const EVENT_COLUMNS: &[&str] = &[
    "id",
    "dictation_id",
    "at",
    "actor_id",
    "action",
    "from_status",
    "to_status",
    "from_stage",
    "to_stage",
    "assignee_id",
];
const TIMER_COLUMNS: &[&str] =
    &["id", "kind", "dictation_id", "scope", "due_at", "fired_at", "late", "cancelled_at", "created_at"];

/// Where a letter is in its life.
struct Life {
    /// Stages entered, with the time and the action that entered each.
    path: Vec<(&'static str, &'static str, Millis)>,
    finished_at: Option<Millis>,
}

pub struct Writer {
    audio: Audio,
    dictations: Batch,
    events: Batch,
    timers: Batch,
    letters: usize,
    open: usize,
    pending_timers: usize,
}

/// The human stages a letter passes on the shipped workflows, in order.
const STAGES: &[(&str, &str)] =
    &[("queue", "recognition_done"), ("correct", "claim"), ("review", "submit"), ("approved", "approve")];

impl Writer {
    pub fn new(audio: Audio) -> Self {
        Writer {
            audio,
            dictations: Batch::new("dictations", DICTATION_COLUMNS),
            events: Batch::new("events", EVENT_COLUMNS),
            timers: Batch::new("timers", TIMER_COLUMNS),
            letters: 0,
            open: 0,
            pending_timers: 0,
        }
    }

    pub fn letters(&self) -> usize {
        self.letters
    }

    /// Plans letter number `n` of `team` and adds its rows.
    pub fn letter(
        &mut self,
        rng: &mut StdRng,
        flows: &Flows,
        team: &Team,
        n: usize,
        now: Millis,
        days: i64,
    ) -> anyhow::Result<()> {
        let priority = match rng.gen_range(0..100) {
            0..80 => Priority::Routine,
            80..95 => Priority::Urgent,
            _ => Priority::TwoWeekWait,
        };
        let (clinician_id, clinician) = &team.clinicians[rng.gen_range(0..team.clinicians.len())];
        let query =
            RouteQuery { specialty: Some(&team.specialty), clinician, letter_type: Some("clinic_letter"), priority };
        let rule = flows.routing.route(&query).ok_or_else(|| anyhow::anyhow!("no routing rule for a seeded letter"))?;
        let (def, version) = flows.defs.get(&rule.workflow).ok_or_else(|| anyhow::anyhow!("workflow not loaded"))?;
        let created = now - rng.gen_range(60_000..days.max(1) * DAY);
        let (target, warn) = def.sla_target(priority, None).ok_or_else(|| anyhow::anyhow!("no target"))?;
        let cal = calendar(&def.calendar);
        let (warn_at, due_at) = deadlines(cal, from_ms(created), target, warn);
        let (warn_at, due_at) = (warn_at.timestamp_millis(), due_at.timestamp_millis());
        let life = life(rng, def, created, due_at, now);
        let secretary = team.secretaries[rng.gen_range(0..team.secretaries.len())].clone();
        let (stage, _, entered) = *life.path.last().expect("a letter has a stage");
        let assignee = match stage {
            "correct" => Some(secretary.clone()),
            "review" => Some(clinician_id.clone()),
            _ => None,
        };
        let reached_correct = life.path.iter().any(|(s, _, _)| *s == "correct");
        let sla = match life.finished_at {
            Some(f) if f <= due_at => "met",
            Some(_) => "breached",
            None if due_at <= now => "breached",
            None if warn_at <= now => "warning",
            None => "on_track",
        };
        let id = new_id();
        let status = def.status_of(stage).map(|s| s.as_str()).unwrap_or("drafted");
        let a = &self.audio;
        let t = Val::Text;
        let ot = Val::OptText;
        self.dictations.push(vec![
            t(id.clone()),
            t(status.into()),
            t(stage.into()),
            t(def.name.clone()),
            Val::Int(*version),
            t(priority.as_str().into()),
            t(team.specialty.clone()),
            t("clinic_letter".into()),
            t(clinician_id.clone()),
            ot(assignee.clone()),
            t(clinician_id.clone()),
            t(format!("Seed Patient {n}")),
            t(format!("H{n:08}")),
            t(a.sha256.clone()),
            Val::Int(a.bytes),
            t(a.container.clone()),
            t(a.codec.clone()),
            Val::Int(a.sample_rate),
            Val::Int(a.channels),
            Val::OptInt(a.bits),
            Val::Real(a.duration),
            Val::Real(a.peak),
            Val::Real(a.rms),
            Val::Int(0),
            t("[]".into()),
            Val::Int(due_at),
            Val::Int(life.path.len() as i64),
            Val::Int(created),
            Val::Int(life.finished_at.unwrap_or(entered)),
            ot(Some(rule.pool.clone().unwrap_or_else(|| team.name.clone()))),
            t(rule.name.clone()),
            t(rule.assign.as_str().into()),
            Val::Int(entered),
            Val::Int(warn_at),
            t(sla.into()),
            Val::OptInt(life.finished_at),
            ot(reached_correct.then(|| secretary.clone())),
        ]);
        self.add_events(&id, def, &life, created, clinician_id, &secretary);
        let end = life.finished_at;
        self.add_timer(&id, "warning", "", warn_at, created, end, now);
        self.add_timer(&id, "breach", "", due_at, created, end, now);
        if end.is_none()
            && let Some((target, warn)) = def.sla_target(priority, Some(stage))
        {
            let (w, b) = deadlines(cal, from_ms(entered), target, warn);
            self.add_timer(&id, "warning", stage, w.timestamp_millis(), entered, None, now);
            self.add_timer(&id, "breach", stage, b.timestamp_millis(), entered, None, now);
        }
        self.letters += 1;
        self.open += usize::from(end.is_none());
        Ok(())
    }

    fn add_events(&mut self, id: &str, def: &WorkflowDef, life: &Life, created: Millis, clinician: &str, sec: &str) {
        let status = |s: &str| Val::OptText(def.status_of(s).map(|x| x.as_str().to_string()));
        let mut push = |at: Millis, actor: Option<&str>, action: &str, from: &str, to: &str| {
            self.events.push(vec![
                Val::Text(new_id()),
                Val::Text(id.to_string()),
                Val::Int(at),
                Val::OptText(actor.map(String::from)),
                Val::Text(action.to_string()),
                if from.is_empty() { Val::OptText(None) } else { status(from) },
                status(to),
                Val::OptText(Some(from.to_string()).filter(|s| !s.is_empty())),
                Val::Text(to.to_string()),
                Val::OptText(None),
            ]);
        };
        push(created, Some(clinician), "upload", "", "received");
        let mut from = "received";
        for (stage, action, at) in &life.path {
            let actor = match *action {
                "recognition_done" => None,
                "approve" | "cancel" => Some(clinician),
                _ => Some(sec),
            };
            push(*at, actor, action, from, stage);
            from = stage;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_timer(
        &mut self,
        id: &str,
        kind: &str,
        scope: &str,
        due: Millis,
        created: Millis,
        end: Option<Millis>,
        now: Millis,
    ) {
        let stop = end.unwrap_or(Millis::MAX);
        let fired = (due <= stop && due <= now).then_some(due);
        let cancelled = end.filter(|e| *e < due);
        self.pending_timers += usize::from(fired.is_none() && cancelled.is_none());
        self.timers.push(vec![
            Val::Text(new_id()),
            Val::Text(kind.into()),
            Val::Text(id.into()),
            Val::Text(scope.into()),
            Val::Int(due),
            Val::OptInt(fired),
            Val::Int(0),
            Val::OptInt(cancelled),
            Val::Int(created),
        ]);
    }

    /// Writes the planned letters in one transaction.
    pub async fn flush(&mut self, db: &Db, report: &mut Report) -> anyhow::Result<()> {
        if self.dictations.is_empty() {
            return Ok(());
        }
        let (letters, events, timers) = (self.dictations.len(), self.events.len(), self.timers.len());
        let mut tx = db.begin_write().await?;
        sqlx::query("INSERT INTO blobs (sha256, bytes, created_at) VALUES ($1, $2, 0) ON CONFLICT (sha256) DO NOTHING")
            .bind(&self.audio.sha256)
            .bind(self.audio.bytes)
            .execute(&mut *tx)
            .await?;
        self.dictations.flush(&mut tx, db.backend).await?;
        self.events.flush(&mut tx, db.backend).await?;
        self.timers.flush(&mut tx, db.backend).await?;
        tx.commit().await?;
        report.dictations += letters;
        report.events += events;
        report.timers += timers;
        report.open += self.open;
        report.pending_timers += self.pending_timers;
        (self.letters, self.open, self.pending_timers) = (0, 0, 0);
        Ok(())
    }
}

/// How far a letter got: older letters are mostly dispatched (a few cancelled), recent
/// ones spread over the stages. Each stage takes a share of a turnaround that is within
/// target for most letters and late for some.
fn life(rng: &mut StdRng, def: &WorkflowDef, created: Millis, due: Millis, now: Millis) -> Life {
    let stages: Vec<(&'static str, &'static str)> =
        STAGES.iter().copied().filter(|(s, _)| def.stage(s).is_some()).collect();
    let age_days = (now - created) as f64 / DAY as f64;
    let finished = rng.gen_bool((age_days / 12.0).clamp(0.02, 0.97));
    // Turnaround: 40%..140% of the allowed time, recognition taking a few minutes.
    let allowed = (due - created).max(DAY / 4);
    let total = (allowed as f64 * rng.gen_range(0.4..1.4)) as Millis;
    let recognised = created + rng.gen_range(60_000..600_000);
    let reached = if finished { stages.len() } else { rng.gen_range(1..=stages.len()) };
    let end = if finished {
        (created + total).min(now - 60_000)
    } else {
        now - rng.gen_range(0..(now - recognised).max(1)) / 2
    };
    let end = end.max(recognised + 1);
    let mut path = Vec::with_capacity(reached + 1);
    for (i, (stage, action)) in stages.iter().take(reached).enumerate() {
        let at = if i == 0 { recognised } else { recognised + (end - recognised) * i as i64 / reached as i64 };
        path.push((*stage, if i == 0 { "recognition_done" } else { *action }, at));
    }
    let finished_at = finished.then_some(end);
    if finished {
        let cancelled = rng.gen_bool(0.02);
        path.push(if cancelled { ("cancelled", "cancel", end) } else { ("dispatched", "dispatch", end) });
    }
    Life { path, finished_at }
}
