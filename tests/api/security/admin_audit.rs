//! An administrative change and its audit entry commit together: when the entry cannot be
//! written (a trigger added by the test refuses it), the change is not committed either.

use dictaflow::domain::Role;
use reqwest::header::ACCEPT;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

use crate::helpers::{Backend, TestApp, spawn_app};

crate::both_backends!(an_admin_change_whose_audit_entry_fails_is_not_committed);

/// Makes the database refuse the audit entries of administrative changes and token
/// creation (the entries this test provokes), as a full disk or a broken link would.
async fn refuse_admin_audit(app: &TestApp) {
    let when = "NEW.action LIKE 'admin.%' OR NEW.action = 'auth.token_create'";
    let statements = match app.backend {
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log WHEN {when} \
             BEGIN SELECT RAISE(ABORT, 'the test refuses this audit entry'); END"
        )],
        Backend::Postgres => vec![
            "CREATE FUNCTION test_refuse_audit() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'the test refuses this audit entry'; END $$ LANGUAGE plpgsql"
                .to_string(),
            format!(
                "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW WHEN ({when}) \
                 EXECUTE FUNCTION test_refuse_audit()"
            ),
        ],
    };
    for sql in statements {
        sqlx::query(AssertSqlSafe(sql)).execute(&app.state.db.pool).await.unwrap();
    }
}

async fn send(app: &TestApp, method: &str, token: &str, path: &str, body: Option<Value>) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn put_yaml(app: &TestApp, token: &str, path: &str, yaml: &str) -> u16 {
    let req = app.client.put(app.url(path)).bearer_auth(token).body(yaml.to_string());
    req.send().await.unwrap().status().as_u16()
}

async fn yaml(app: &TestApp, token: &str, path: &str) -> String {
    let resp = app.client.get(app.url(path)).bearer_auth(token).header(ACCEPT, "application/yaml").send().await;
    resp.unwrap().text().await.unwrap()
}

async fn an_admin_change_whose_audit_entry_fails_is_not_committed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let workflow = yaml(&app, &admin, "/api/v1/workflows/clinic-letter").await;
    let routing = yaml(&app, &admin, "/api/v1/routing").await;
    let versions = |path: &'static str| {
        let (app, admin) = (&app, &admin);
        async move { app.get_json(admin, path).await.1 }
    };
    let workflow_versions = versions("/api/v1/workflows/clinic-letter/versions").await;
    let routing_before = versions("/api/v1/routing").await["version"].clone();
    let tokens_before = versions("/api/v1/auth/tokens").await;
    let hook = json!({"url": "https://receiver.example/hook", "secret": "a-secret-of-some-length", "events": ["*"]});

    refuse_admin_audit(&app).await;
    let changes = [
        ("workflow", put_yaml(&app, &admin, "/api/v1/workflows/clinic-letter", &workflow).await),
        ("routing", put_yaml(&app, &admin, "/api/v1/routing", &routing).await),
        (
            "vocabulary",
            send(&app, "PUT", &admin, "/api/v1/vocabularies/global", Some(json!({"terms": ["otitis"]}))).await,
        ),
        ("webhook", send(&app, "POST", &admin, "/api/v1/webhooks", Some(hook)).await),
        ("settings", send(&app, "PUT", &admin, "/api/v1/settings/recognition", Some(json!({"beam_size": 2}))).await),
        ("token", send(&app, "POST", &admin, "/api/v1/auth/tokens", Some(json!({"name": "ci"}))).await),
    ];
    for (what, status) in changes {
        assert_eq!(status, 500, "{what}: a change whose audit entry cannot be written fails");
    }

    // None of them was committed.
    assert_eq!(versions("/api/v1/workflows/clinic-letter/versions").await, workflow_versions, "workflow");
    assert_eq!(versions("/api/v1/routing").await["version"], routing_before, "routing");
    assert_eq!(app.get_json(&admin, "/api/v1/vocabularies/global").await.0, 404, "vocabulary");
    assert_eq!(versions("/api/v1/webhooks").await["items"], json!([]), "webhook");
    assert_eq!(versions("/api/v1/settings/recognition").await["version"], 0, "settings");
    assert_eq!(versions("/api/v1/auth/tokens").await, tokens_before, "token");

    // The same change goes through, with its entry, once the audit table accepts it.
    let drop = match backend {
        Backend::Sqlite => "DROP TRIGGER test_refuse_audit",
        Backend::Postgres => "DROP TRIGGER test_refuse_audit ON audit_log",
    };
    sqlx::query(drop).execute(&app.state.db.pool).await.unwrap();
    let body = json!({"terms": ["otitis"]});
    assert_eq!(send(&app, "PUT", &admin, "/api/v1/vocabularies/global", Some(body)).await, 200);
    let (_, entries) = app.get_json(&admin, "/api/v1/audit?action=admin.vocabulary_put").await;
    assert_eq!(entries["items"].as_array().unwrap().len(), 1, "{entries}");
}
