//! Users, teams and personal API tokens: super-user administration over HTTP and the
//! command line, token revocation, expiry, and that each change is audited.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use super::support::{DAY, HOUR, PASSWORD, app, audit, call, login, login_resp};
use crate::helpers::Backend;

async fn super_users_manage_users_and_teams(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let lead = app.user("lead", Role::TeamLead, &["ent"]).await;

    // Only super-users administer.
    for (method, path) in [("GET", "/api/v1/users"), ("GET", "/api/v1/teams")] {
        let (status, _) = call(&app, method, &lead, path, None).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = call(&app, "POST", &lead, "/api/v1/teams", Some(json!({"name": "eye"}))).await;
    assert_eq!(status, 403);

    let (status, team) = call(&app, "POST", &admin, "/api/v1/teams", Some(json!({"name": "cardio"}))).await;
    assert_eq!(status, 201, "{team}");
    let (status, _) = call(&app, "POST", &admin, "/api/v1/teams", Some(json!({"name": "cardio"}))).await;
    assert_eq!(status, 409);
    let new_user = json!({"username": "dr.new", "role": "clinician", "teams": ["cardio"], "password": PASSWORD});
    let (status, user) = call(&app, "POST", &admin, "/api/v1/users", Some(new_user.clone())).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!((user["role"].as_str(), user["disabled"].as_bool()), (Some("clinician"), Some(false)));
    assert_eq!(user["teams"], json!(["cardio"]));
    let id = user["id"].as_str().unwrap().to_string();
    let (status, _) = call(&app, "POST", &admin, "/api/v1/users", Some(new_user)).await;
    assert_eq!(status, 409, "duplicate username");
    let bad = [
        json!({"username": "Bad Name", "role": "clinician"}),
        json!({"username": "dr.x", "role": "wizard"}),
        json!({"username": "dr.x", "role": "clinician", "teams": ["nope"]}),
        json!({"username": "dr.x", "role": "clinician", "password": "short"}),
    ];
    for body in bad {
        let (status, err) = call(&app, "POST", &admin, "/api/v1/users", Some(body.clone())).await;
        assert_eq!(status, 422, "{body} -> {err}");
    }

    // The new user logs in; disabling them ends every session and token at once.
    let session = login(&app, "dr.new").await;
    let (status, _) = call(&app, "GET", &session.token, "/api/v1/auth/me", None).await;
    assert_eq!(status, 200);
    let (status, patched) =
        call(&app, "PATCH", &admin, &format!("/api/v1/users/{id}"), Some(json!({"disabled": true}))).await;
    assert_eq!((status, patched["disabled"].as_bool()), (200, Some(true)));
    let (status, _) = call(&app, "GET", &session.token, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401, "a disabled user's token is revoked");
    assert_eq!(login_resp(&app, "dr.new", PASSWORD).await.status(), 401);
    let (status, _) =
        call(&app, "PATCH", &admin, &format!("/api/v1/users/{id}"), Some(json!({"disabled": false}))).await;
    assert_eq!(status, 200);
    let (status, _) = call(&app, "GET", &session.token, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401, "re-enabling does not bring revoked tokens back");
    let session = login(&app, "dr.new").await;

    // Role and teams.
    let body = json!({"role": "secretary", "teams": ["ent", "cardio"]});
    let (status, patched) = call(&app, "PATCH", &admin, &format!("/api/v1/users/{id}"), Some(body)).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!((patched["role"].as_str(), patched["teams"].clone()), (Some("secretary"), json!(["cardio", "ent"])));
    let (status, me) = call(&app, "GET", &session.token, "/api/v1/auth/me", None).await;
    assert_eq!((status, me["role"].as_str()), (200, Some("secretary")));
    assert_eq!(me["teams"], json!(["cardio", "ent"]), "a token's user comes with every team, in order");
    let (status, me) = call(&app, "GET", &admin, "/api/v1/auth/me", None).await;
    assert_eq!((status, me["username"].as_str(), me["teams"].clone()), (200, Some("admin"), json!([])));
    let (status, _) = call(&app, "PATCH", &admin, "/api/v1/users/nobody", Some(json!({"role": "clinician"}))).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, "PATCH", &admin, &format!("/api/v1/users/{id}"), Some(json!({"colour": 1}))).await;
    assert_eq!(status, 422);

    // Members.
    let (status, _) = call(&app, "DELETE", &admin, "/api/v1/teams/ent/members/dr.new", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, "DELETE", &admin, "/api/v1/teams/ent/members/dr.new", None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, "POST", &admin, "/api/v1/teams/ent/members", Some(json!({"user": "dr.new"}))).await;
    assert_eq!(status, 204);
    let (_, teams) = call(&app, "GET", &admin, "/api/v1/teams", None).await;
    let ent = teams["items"].as_array().unwrap().iter().find(|t| t["name"] == "ent").unwrap().clone();
    let members: Vec<&str> =
        ent["members"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
    assert_eq!(members, vec!["dr.new", "lead"]);

    // A new password ends login sessions.
    let (status, _) = call(
        &app,
        "POST",
        &admin,
        &format!("/api/v1/users/{id}/password"),
        Some(json!({"password": "another long password"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, "GET", &session.token, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401);
    assert_eq!(login_resp(&app, "dr.new", "another long password").await.status(), 200);

    // A super-user cannot lock themselves out.
    let (_, me) = call(&app, "GET", &admin, "/api/v1/auth/me", None).await;
    let me_path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let (status, _) = call(&app, "PATCH", &admin, &me_path, Some(json!({"disabled": true}))).await;
    assert_eq!(status, 409);

    let (_, list) = call(&app, "GET", &admin, "/api/v1/users", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let actions: Vec<String> =
        audit(&app, &admin, "action=admin.").await.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for expected in [
        "admin.team_create",
        "admin.user_create",
        "admin.user_update",
        "admin.team_member_remove",
        "admin.team_member_add",
        "admin.user_password",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    let disabled = audit(&app, &admin, &format!("action=admin.user_update&target={id}")).await;
    let first: &Value = disabled.last().unwrap();
    assert_eq!(first["actor"], "admin");
    assert_eq!(first["details"]["after"]["disabled"], true);
    assert_eq!(first["details"]["tokens_revoked"], 1);
}

async fn personal_api_tokens(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let session = login(&app, "sec.jones").await;
    let t = &session.token;
    let (status, created) =
        call(&app, "POST", t, "/api/v1/auth/tokens", Some(json!({"name": "dictaphone dock"}))).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("dfl_"));
    assert_eq!(created["expires_at"], "2026-05-31T10:00:00.000Z", "90 days by default");
    let (status, me) = call(&app, "GET", &secret, "/api/v1/auth/me", None).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("sec.jones")));

    let (_, list) = call(&app, "GET", t, "/api/v1/auth/tokens", None).await;
    // The test helper gave the user an unnamed token too.
    let items: Vec<&Value> = list["items"].as_array().unwrap().iter().filter(|t| !t["name"].is_null()).collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "dictaphone dock");
    assert_eq!(items[0]["id"], created["id"]);
    assert!(items[0].get("token").is_none(), "the secret is shown once only");
    assert!(!list.to_string().contains(&secret));

    // Someone else cannot revoke it; its owner can.
    let token_id = created["id"].as_str().unwrap();
    let (status, _) = call(&app, "DELETE", &admin, &format!("/api/v1/auth/tokens/{token_id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, "DELETE", t, &format!("/api/v1/auth/tokens/{token_id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, "GET", &secret, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401, "a revoked token no longer works");

    // Expiry: explicit, checked, and enforced by the clock.
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "expires_at": "2026-03-01T00:00:00Z"}),
        json!({"name": "x", "expires_at": "2030-01-01T00:00:00Z"}),
        json!({"name": "x", "expires_at": "soon"}),
    ] {
        let (status, err) = call(&app, "POST", t, "/api/v1/auth/tokens", Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad} -> {err}");
    }
    let body = json!({"name": "script", "expires_at": "2026-03-02T12:00:00Z"});
    let (_, short) = call(&app, "POST", &admin, "/api/v1/auth/tokens", Some(body)).await;
    let short = short["token"].as_str().unwrap().to_string();
    assert_eq!(call(&app, "GET", &short, "/api/v1/auth/me", None).await.0, 200);
    app.state.clock.advance_ms(2 * HOUR + 1);
    assert_eq!(call(&app, "GET", &short, "/api/v1/auth/me", None).await.0, 401, "an expired token");
    // The login session (12 hours) has 10 left; then it expires too.
    assert_eq!(call(&app, "GET", t, "/api/v1/auth/me", None).await.0, 200);
    app.state.clock.advance_ms(DAY);
    assert_eq!(call(&app, "GET", t, "/api/v1/auth/me", None).await.0, 401, "an expired session");
    let auth = audit(&app, &admin, "action=auth.").await;
    let tokens: Vec<&str> =
        auth.iter().filter_map(|e| e["action"].as_str()).filter(|a| a.starts_with("auth.token_")).collect();
    assert_eq!(tokens, ["auth.token_create", "auth.token_revoke", "auth.token_create"]);
}

async fn command_line_administration(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
            .arg("--data-dir")
            .arg(app.dir.path())
            .arg("--database-url")
            .arg(app.state.config.database_url())
            .args(args)
            .env("RUST_LOG", "error")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, out) = run(&["team", "add", "eye"], "");
    assert!(ok, "{out}");
    let (ok, out) = run(&["user", "add", "--username", "dr.eye", "--role", "clinician", "--password-stdin"], PASSWORD);
    assert!(ok, "{out}");
    let (ok, out) = run(&["team", "add-member", "eye", "dr.eye"], "");
    assert!(ok, "{out}");
    let (ok, out) = run(&["team", "list"], "");
    assert!(ok && out.contains("eye\tdr.eye (clinician)"), "{out}");
    let session = login(&app, "dr.eye").await;
    let (ok, out) = run(&["user", "disable", "dr.eye"], "");
    assert!(ok, "{out}");
    assert_eq!(call(&app, "GET", &session.token, "/api/v1/auth/me", None).await.0, 401);
    let (ok, out) = run(&["user", "list"], "");
    assert!(ok && out.contains("dr.eye\tclinician\tdisabled\teye"), "{out}");
    let (ok, _) = run(&["user", "enable", "dr.eye"], "");
    assert!(ok);
    let (ok, out) = run(&["user", "reset-password", "dr.eye"], "short\n");
    assert!(!ok && out.contains("8"), "{out}");
    let (ok, out) = run(&["user", "reset-password", "dr.eye"], "a brand new password\n");
    assert!(ok, "{out}");
    assert_eq!(login_resp(&app, "dr.eye", "a brand new password").await.status(), 200);
    let (ok, out) = run(&["team", "remove-member", "eye", "dr.eye"], "");
    assert!(ok, "{out}");
    let (ok, out) = run(&["user", "disable", "nobody"], "");
    assert!(!ok && out.contains("not found"), "{out}");
    let by_cli = audit(&app, &admin, "actor=cli").await;
    let actions: Vec<&str> = by_cli.iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "admin.team_create",
            "admin.user_create",
            "admin.team_member_add",
            "admin.user_update",
            "admin.user_update",
            "admin.user_password",
            "admin.team_member_remove"
        ]
    );
}

crate::both_backends!(super_users_manage_users_and_teams, personal_api_tokens, command_line_administration);
