//! Authorisation in one place: what each role may do ([`can`]) and which dictations a
//! user may see ([`dictation_scope`]). Handlers ask here instead of checking roles
//! themselves. A permission a role lacks is 403; a resource outside the caller's scope
//! is answered 404 by the handler (its existence is not revealed).
//!
//! | permission | clinician | secretary | team_lead | manager | superuser |
//! | --- | --- | --- | --- | --- | --- |
//! | list and read dictations in scope (details, history); queue; notifications; own tokens | yes | yes | yes | yes | yes |
//! | act on, edit dictations in scope; their audio and letters; transcribe | yes | yes | yes | | yes |
//! | upload | own | team clinicians' | team clinicians' | | anyone's |
//! | reports, the at-risk view, load per person | | | yes | yes | yes |
//! | absences, reassign picker, edit a draft someone else holds | | | yes | | yes |
//! | read workflows, routing, vocabularies | yes | yes | yes | yes | yes |
//! | edit vocabularies | own list | | | | yes |
//! | workflows, routing, users, teams, audit | | | | | yes |
//! | recognition models and settings | | | | | yes |
//!
//! Scope: clinicians see their own dictations; secretaries, team leads and managers those
//! of clinicians who share a team with them, those routed to their teams' pools and
//! anything assigned to them (a manager's teams are the teams assigned to them, as team
//! memberships); super-users all. The rule is one SQL condition
//! (`storage::dictations::visible_sql`), shared by letter reads, lists, the queue and
//! the oversight views.

use crate::domain::Role;
use crate::error::ApiError;
use crate::storage::dictations::Scope;
use crate::storage::users::User;

/// Something a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List and view dictations and their history (within scope).
    ReadDictations,
    /// Download audio and letters of, act on and edit dictations (within scope).
    WorkOnDictations,
    UploadDictations,
    ManageAbsences,
    ViewReports,
    ReadDefinitions,
    ManageDefinitions,
    ManageUsers,
    ReadAudit,
    /// Personal API tokens, the caller's queue and notifications.
    OwnAccount,
    /// Edit the draft of a letter (in scope) held by someone else.
    SuperviseWork,
    /// The OpenAI-compatible transcription endpoint (no dictation is stored).
    Transcribe,
    /// List the speech models; read and change the recognition settings.
    ManageRecognition,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Self::ReadDictations,
        Self::WorkOnDictations,
        Self::UploadDictations,
        Self::ManageAbsences,
        Self::ViewReports,
        Self::ReadDefinitions,
        Self::ManageDefinitions,
        Self::ManageUsers,
        Self::ReadAudit,
        Self::OwnAccount,
        Self::SuperviseWork,
        Self::Transcribe,
        Self::ManageRecognition,
    ];
}

/// Whether `role` has `permission` at all (scope is checked separately).
pub fn role_can(role: Role, permission: Permission) -> bool {
    use Permission as P;
    match permission {
        P::ReadDictations | P::ReadDefinitions | P::OwnAccount => true,
        P::WorkOnDictations | P::UploadDictations | P::Transcribe => role != Role::Manager,
        P::ViewReports => matches!(role, Role::TeamLead | Role::Manager | Role::Superuser),
        P::ManageAbsences | P::SuperviseWork => matches!(role, Role::TeamLead | Role::Superuser),
        P::ManageDefinitions | P::ManageUsers | P::ReadAudit | P::ManageRecognition => role == Role::Superuser,
    }
}

pub fn can(user: &User, permission: Permission) -> bool {
    role_can(user.role, permission)
}

/// `Ok` or 403 `forbidden`.
pub fn require(user: &User, permission: Permission) -> Result<(), ApiError> {
    if can(user, permission) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("the {} role may not do this", user.role)))
    }
}

/// The dictations `user` may see.
pub fn dictation_scope(user: &User) -> Scope {
    match user.role {
        Role::Superuser => Scope::All,
        Role::Clinician => Scope::OwnDictations(user.id.clone()),
        Role::Secretary | Role::TeamLead | Role::Manager => Scope::Teams(user.id.clone()),
    }
}

/// Whether `user` may act for someone in `teams` (absences, cover): super-users for
/// anyone, others for members of a team they are in.
pub fn covers_teams(user: &User, teams: &[String]) -> bool {
    user.role == Role::Superuser || teams.iter().any(|t| user.teams.contains(t))
}

/// Whether `user` may upload a dictation for `clinician` (a clinician's own, a team
/// member's for secretaries and team leads, anyone's for super-users).
pub fn may_upload_for(user: &User, clinician: &User) -> bool {
    match user.role {
        Role::Superuser => true,
        Role::Clinician => user.id == clinician.id,
        Role::Secretary | Role::TeamLead => clinician.teams.iter().any(|t| user.teams.contains(t)),
        Role::Manager => false,
    }
}

/// Whether `user` may change the vocabulary list `scope` (super-users any; a clinician
/// their own).
pub fn may_edit_vocabulary(user: &User, scope: &crate::vocabulary::Scope) -> bool {
    match (user.role, scope) {
        (Role::Superuser, _) => true,
        (Role::Clinician, crate::vocabulary::Scope::Clinician(name)) => *name == user.username,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission as P;

    fn user(role: Role, teams: &[&str]) -> User {
        User {
            id: format!("{role}-id"),
            username: format!("{role}-name"),
            display_name: String::new(),
            role,
            teams: teams.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn the_role_table() {
        // (permission, clinician, secretary, team_lead, manager, superuser)
        let table = [
            (P::ReadDictations, true, true, true, true, true),
            (P::WorkOnDictations, true, true, true, false, true),
            (P::UploadDictations, true, true, true, false, true),
            (P::ManageAbsences, false, false, true, false, true),
            (P::ViewReports, false, false, true, true, true),
            (P::ReadDefinitions, true, true, true, true, true),
            (P::ManageDefinitions, false, false, false, false, true),
            (P::ManageUsers, false, false, false, false, true),
            (P::ReadAudit, false, false, false, false, true),
            (P::OwnAccount, true, true, true, true, true),
            (P::SuperviseWork, false, false, true, false, true),
            (P::Transcribe, true, true, true, false, true),
            (P::ManageRecognition, false, false, false, false, true),
        ];
        assert_eq!(table.len(), P::ALL.len(), "every permission is in the table");
        for (p, c, s, t, m, su) in table {
            let roles = [(Role::Clinician, c), (Role::Secretary, s), (Role::TeamLead, t), (Role::Manager, m)];
            for (role, want) in roles.into_iter().chain([(Role::Superuser, su)]) {
                assert_eq!(role_can(role, p), want, "{role} {p:?}");
                assert_eq!(require(&user(role, &[]), p).is_ok(), want);
            }
        }
    }

    #[test]
    fn uploads_and_vocabularies() {
        let clin = user(Role::Clinician, &["ent"]);
        let other = User { id: "x".into(), ..user(Role::Clinician, &["eye"]) };
        assert!(may_upload_for(&clin, &clin));
        assert!(!may_upload_for(&clin, &other));
        assert!(may_upload_for(&user(Role::Secretary, &["ent"]), &clin));
        assert!(!may_upload_for(&user(Role::Secretary, &["eye"]), &clin));
        assert!(may_upload_for(&user(Role::Superuser, &[]), &clin));
        use crate::vocabulary::Scope as V;
        assert!(may_edit_vocabulary(&clin, &V::Clinician(clin.username.clone())));
        assert!(!may_edit_vocabulary(&clin, &V::Clinician("someone".into())));
        assert!(!may_edit_vocabulary(&clin, &V::Global));
        assert!(!may_edit_vocabulary(&user(Role::TeamLead, &[]), &V::Global));
        assert!(may_edit_vocabulary(&user(Role::Superuser, &[]), &V::Global));
        assert!(matches!(dictation_scope(&clin), Scope::OwnDictations(_)));
        assert!(matches!(dictation_scope(&user(Role::TeamLead, &[])), Scope::Teams(_)));
        assert!(matches!(dictation_scope(&user(Role::Manager, &["ent"])), Scope::Teams(_)));
        assert!(!may_upload_for(&user(Role::Manager, &["ent"]), &clin));
        assert!(matches!(dictation_scope(&user(Role::Superuser, &[])), Scope::All));
    }
}
