//! Each user's notification settings: defaults by role, validation field by field, saved
//! and audited; and the unread count beside the notifications.

use serde_json::json;

use super::audited;
use crate::helpers::Backend;
use crate::workflow::support::team;

crate::both_backends!(settings_are_validated_saved_and_audited);

async fn settings_are_validated_saved_and_audited(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let get = |token: &str| {
        let token = token.to_string();
        let app = &t.app;
        async move { app.get_json(&token, "/api/v1/me/notification-settings").await }
    };
    let (status, s) = get(&t.jones).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s,
        json!({"email": "", "email_each": false, "daily_digest": false, "weekly_report": null,
            "weekly_report_default": false, "weekly_report_allowed": false, "receives_weekly_report": false,
            "email_enabled": false})
    );
    let (_, lead) = get(&t.lead).await;
    let want = json!([true, true, true]);
    assert_eq!(
        json!([lead["weekly_report_default"], lead["weekly_report_allowed"], lead["receives_weekly_report"]]),
        want
    );

    for (token, body, field) in [
        (
            &t.jones,
            json!({"email": "not an address", "email_each": true, "daily_digest": false, "weekly_report": null}),
            "email",
        ),
        (&t.jones, json!({"email": "", "email_each": true, "daily_digest": false, "weekly_report": null}), "email"),
        (&t.jones, json!({"email": "", "email_each": false, "daily_digest": true, "weekly_report": null}), "email"),
        (
            &t.jones,
            json!({"email": format!("{}@trust.example", "x".repeat(250)), "email_each": true, "daily_digest": false,
            "weekly_report": null}),
            "email",
        ),
        (
            &t.jones,
            json!({"email": "jones@trust.example", "email_each": true, "daily_digest": false, "weekly_report": true}),
            "weekly_report",
        ),
    ] {
        let (status, problem) = t.notify_settings(token, body.clone()).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{body} -> {problem}");
        assert_eq!(problem["code"], "validation_failed");
    }
    let (status, problem) = t.notify_settings(&t.jones, json!({"email": "a@b.example", "sms": true})).await;
    assert!(status == 400 || status == 422, "{status} {problem}");
    assert_eq!(get(&t.jones).await.1["email"], "", "nothing saved");

    let body =
        json!({"email": " jones@trust.example ", "email_each": false, "daily_digest": true, "weekly_report": null});
    let (status, saved) = t.notify_settings(&t.jones, body).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!((saved["email"].as_str(), saved["daily_digest"].as_bool()), (Some("jones@trust.example"), Some(true)));
    assert_eq!(get(&t.jones).await.1, saved);
    // A team lead may opt out of the weekly report.
    let body =
        json!({"email": "lead@trust.example", "email_each": false, "daily_digest": false, "weekly_report": false});
    let (status, lead) = t.notify_settings(&t.lead, body).await;
    assert_eq!((status, &lead["receives_weekly_report"]), (200, &json!(false)), "{lead}");

    let audit = audited(&t, "account.notification_settings").await;
    let who: Vec<&str> = audit.iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(who, ["sec.jones", "lead"]);
    assert_eq!(audit[0]["details"]["daily_digest"], true);
    assert!(!audit[0]["details"].to_string().contains("jones@trust.example"), "the address is not copied into the log");

    assert_eq!(t.app.get_json(&t.jones, "/api/v1/notifications/unread-count").await, (200, json!({"unread": 0})));
    let (_, list) = t.app.get_json(&t.jones, "/api/v1/notifications").await;
    assert_eq!((list["items"].as_array().map(Vec::len), list["unread"].as_i64()), (Some(0), Some(0)));
    let resp = t.app.client.get(t.app.url("/api/v1/me/notification-settings")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
