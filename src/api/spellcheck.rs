//! `POST /api/v1/spellcheck`: the secretary's editor asks which words of a letter look
//! misspelt, with suggestions (offsets in UTF-16 code units, as JavaScript indexes strings).

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::actions::visible;
use super::extract::Json;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::error::{ApiError, ApiResult};
use crate::lexicon::spell::{self, Known, MAX_TEXT_CHARS};
use crate::lexicon::{Category, release, scopes_for, store, words};

pub fn router() -> Router<AppState> {
    Router::new().route("/spellcheck", post(check))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    text: String,
    /// The letter being edited: its clinician's and specialty's lexicon apply.
    dictation_id: Option<String>,
}

async fn check(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<CheckBody>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::WorkOnDictations)?;
    if body.text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::invalid_field(
            "text",
            "validation_failed",
            format!("at most {MAX_TEXT_CHARS} characters are checked at once"),
        ));
    }
    let scopes = match body.dictation_id.as_deref() {
        Some(id) => {
            visible(&state, &user, id).await?;
            let (clinician, specialty) =
                store::dictation_owner(&state.db, id).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
            scopes_for(&clinician, specialty.as_deref())
        }
        None => scopes_for(&user.username, None),
    };
    let terms = crate::lexicon::effective_terms(&state.db, &scopes).await?;
    let suppressed = store::suppressed_ids(&state.db).await?;
    let dictionaries = state.config.lexicon.extra_dictionaries.clone();
    let issues = crate::telemetry::spawn_blocking_with_tracing(move || {
        let medicines = release::entries()
            .iter()
            .filter(|e| e.category == Category::Medicine && !suppressed.contains(&e.id))
            .map(|e| e.term.as_str());
        let known = Known::new(terms.iter().map(String::as_str), medicines)
            .with_extra(crate::lexicon::hunspell::load(&dictionaries));
        spell::check(&body.text, &known, words::english())
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("spell-check failed: {e}")))?;
    Ok(axum::Json(json!({"issues": issues, "offsets": "utf16"})))
}
