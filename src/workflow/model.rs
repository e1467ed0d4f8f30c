//! The typed workflow definition (`WorkflowDef`) and its vocabulary: statuses,
//! priorities, stage kinds, participants, actions, system events, targets, escalation.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::timers::{WarnAt, WorkDuration};

/// Declares a closed set of snake_case names with `as_str`, `ALL`, `FromStr`, `Display`.
macro_rules! names {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $ty { $($(#[$vm])* $v),+ }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$v => $s),+ }
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($ty::$v),)+
                    _ => Err(format!(
                        "unknown {} `{}`; expected one of: {}",
                        stringify!($ty).to_lowercase(),
                        s,
                        [$($s),+].join(", "),
                    )),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(
    /// The status the API exposes; every stage maps to one.
    Status {
        Received = "received",
        Transcribing = "transcribing",
        Drafted = "drafted",
        InCorrection = "in_correction",
        AwaitingReview = "awaiting_review",
        Approved = "approved",
        Dispatched = "dispatched",
        Cancelled = "cancelled",
        Failed = "failed",
    }
);

names!(
    /// A dictation's priority lane.
    Priority {
        Routine = "routine",
        Urgent = "urgent",
        TwoWeekWait = "two_week_wait",
    }
);

names!(
    /// What kind of stage: people act in `human` stages, the system moves `automatic`
    /// ones on events, and `terminal` stages end the workflow.
    StageKind {
        Human = "human",
        Automatic = "automatic",
        Terminal = "terminal",
    }
);

names!(
    /// Events the server sends to the engine (recognition is never called by it).
    SystemEvent {
        /// A recognition job started on the audio.
        RecognitionStarted = "recognition_started",
        /// Recognition finished and the draft is ready.
        RecognitionDone = "recognition_done",
        /// Recognition failed for good.
        RecognitionFailed = "recognition_failed",
    }
);

names!(
    /// Built-in actions; any other action name in a file is a custom action.
    Builtin {
        /// Take an unassigned letter; the actor becomes the assignee.
        Claim = "claim",
        /// Give a held letter back to the pool; the assignee is cleared.
        Release = "release",
        Submit = "submit",
        Approve = "approve",
        /// Send back with a comment (always required).
        Return = "return",
        Dispatch = "dispatch",
        Cancel = "cancel",
        /// Give the letter to the user named in the request.
        Reassign = "reassign",
    }
);

impl Builtin {
    /// Claim, release and reassign change who holds the letter and, unless `to` says
    /// otherwise, stay in the stage.
    pub fn changes_assignee(self) -> bool {
        matches!(self, Builtin::Claim | Builtin::Release | Builtin::Reassign)
    }
}

/// Who acts in a human stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    /// The clinician who dictated the letter; the letter is assigned to them on entry.
    Clinician,
    /// A pool: users with `role` (if given) in `team` (if given). The letter enters
    /// unassigned, or back with the user who last held this stage (return-to-secretary).
    Pool { role: Option<String>, team: Option<TeamRef> },
    /// A named user; the letter is assigned to them on entry.
    User(String),
}

/// The team of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRef {
    /// The pool chosen by routing for this dictation (any team when routing gave none).
    Routed,
    Named(String),
}

/// Who may take an action (any entry suffices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permit {
    /// The user the letter is assigned to (`assignee`).
    Assignee,
    /// Anyone the stage's `who` covers (`participants`).
    Participants,
    /// The clinician who dictated the letter (`dictating_clinician`).
    DictatingClinician,
    /// Any user with this role.
    Role(String),
}

impl fmt::Display for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permit::Assignee => f.write_str("assignee"),
            Permit::Participants => f.write_str("participants"),
            Permit::DictatingClinician => f.write_str("dictating_clinician"),
            Permit::Role(r) => f.write_str(r),
        }
    }
}

/// An action open in a stage (or in every non-terminal stage, for `common_actions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub name: String,
    /// `None` for a custom action.
    pub builtin: Option<Builtin>,
    /// The stage it leads to; `None` means "stays in the stage it was taken in".
    pub to: Option<String>,
    pub by: Vec<Permit>,
    pub comment_required: bool,
    /// Button text for the UI.
    pub label: Option<String>,
}

/// One stage of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub name: String,
    pub label: Option<String>,
    pub kind: StageKind,
    pub status: Status,
    /// Required for human stages, absent otherwise.
    pub who: Option<Who>,
    pub actions: Vec<Action>,
    /// Automatic moves on system events.
    pub on: BTreeMap<SystemEvent, String>,
    /// Clinicians whose letters skip this stage: its `approve` action is taken for them
    /// automatically as soon as the letter enters it.
    pub auto_approve_for: Vec<String>,
}

/// The turnaround target of one priority lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// From receipt to dispatch.
    pub total: WorkDuration,
    pub warn: WarnAt,
    /// Optional targets per stage, from entering the stage to leaving it.
    pub stages: BTreeMap<String, WorkDuration>,
}

impl Target {
    /// The warning point for stage targets: the lane's percentage, or 80% when the lane
    /// warns after a fixed duration.
    pub fn stage_warn(&self) -> WarnAt {
        match self.warn {
            WarnAt::Percent(p) => WarnAt::Percent(p),
            WarnAt::After(_) => WarnAt::default(),
        }
    }
}

/// Who hears about a warning or a breach.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Notify {
    pub roles: Vec<String>,
    pub teams: Vec<String>,
    pub users: Vec<String>,
}

/// Escalation: a warning before the target, a breach at it; each at most once per stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub warning: Notify,
    pub breach: Notify,
}

/// A validated workflow definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowDef {
    pub name: String,
    pub description: Option<String>,
    /// Name of the working calendar used for targets.
    pub calendar: String,
    /// The stage a new dictation enters.
    pub start: String,
    /// In file order.
    pub stages: Vec<Stage>,
    /// Actions open in every non-terminal stage unless the stage defines the same name.
    pub common_actions: Vec<Action>,
    pub targets: BTreeMap<Priority, Target>,
    pub escalation: Escalation,
}

impl WorkflowDef {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The action `name` as open in `stage`: the stage's own, else a common action
    /// (common actions are never open in terminal stages).
    pub fn action<'a>(&'a self, stage: &'a Stage, name: &str) -> Option<&'a Action> {
        stage.actions.iter().find(|a| a.name == name).or_else(|| {
            (stage.kind != StageKind::Terminal).then(|| self.common_actions.iter().find(|a| a.name == name)).flatten()
        })
    }

    /// Every action open in `stage`.
    pub fn actions_in<'a>(&'a self, stage: &'a Stage) -> Vec<&'a Action> {
        let mut all: Vec<&Action> = stage.actions.iter().collect();
        if stage.kind != StageKind::Terminal {
            let own = |name: &str| stage.actions.iter().any(|a| a.name == name);
            all.extend(self.common_actions.iter().filter(|a| !own(&a.name)));
        }
        all
    }

    /// The target of a priority lane (validation guarantees every lane has one).
    pub fn target(&self, priority: Priority) -> Option<&Target> {
        self.targets.get(&priority)
    }

    /// The target and warning point for a letter of `priority`: for the whole letter
    /// (`stage: None`, clock from receipt) or for one stage (clock from entering it;
    /// `None` when that stage has no target of its own).
    pub fn sla_target(&self, priority: Priority, stage: Option<&str>) -> Option<(WorkDuration, WarnAt)> {
        let target = self.targets.get(&priority)?;
        match stage {
            None => Some((target.total, target.warn)),
            Some(name) => target.stages.get(name).map(|d| (*d, target.stage_warn())),
        }
    }

    /// The status of a stage.
    pub fn status_of(&self, stage: &str) -> Option<Status> {
        self.stage(stage).map(|s| s.status)
    }
}
