//! The workflow editor keeps its place: the error mark on its line at the end of a long file,
//! a warning before unsaved YAML is left, and a version diff that opens at its first change.

use dictaflow::domain::Role;
use serde_json::json;

use crate::Flow;
use crate::helpers::{Backend, spawn_app_with};
use crate::webdriver::Driver;

async fn workflow_editor_keeps_its_place(backend: Backend) {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let Some((driver, browser)) = crate::browser_or_skip("the workflow editor browser test") else { return };
    let Some(app) = spawn_app_with(backend, |_| {}).await else { return };
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("admin", app.user("admin", Role::Superuser, &[]).await);
    let downloads = app.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let web = Driver::start(&driver, &browser, &downloads).await;
    let f = Flow { app, web, shots: None, tokens };
    f.sign_in("admin", "/app/workflows").await;
    f.web.goto(&f.url("/app/workflows/clinic-letter")).await;
    f.web.wait_js("validation", "return document.querySelector('#validity').textContent === 'Valid.'", 15).await;

    // A mistake on the last line: its gutter mark sits on that line when scrolled to the end.
    let area = f.web.find("#yaml").await.unwrap();
    f.web.js("const a = document.querySelector('#yaml'); a.focus(); a.setSelectionRange(a.value.length, a.value.length);", json!([])).await;
    f.web.type_into(&area, "\nnot_a_field: 1").await;
    f.web.wait_js("the error", "return document.querySelector('.gutter .ln.err')", 15).await;
    let place = f
        .web
        .js(
            "const a = document.querySelector('#yaml'); const g = document.querySelector('.gutter');
             a.scrollTop = a.scrollHeight; a.dispatchEvent(new Event('scroll'));
             const err = [...g.querySelectorAll('.ln.err')].pop();
             const line = Number(err.textContent);
             const lineTop = a.getBoundingClientRect().top + 6 + (line - 1) * 20 - a.scrollTop;
             return [line, a.value.split('\\n').length, err.getBoundingClientRect().top - lineTop];",
            json!([]),
        )
        .await;
    assert_eq!(place[0], place[1], "the mark is on the last line: {place}");
    assert!(place[2].as_f64().unwrap().abs() < 2.0, "and level with it: {place}");

    // Unsaved YAML: leaving asks; staying keeps the text.
    let link = f.web.find("a[href='/app/dictations']").await.unwrap();
    f.web.click_opening_dialog(&link).await;
    assert!(f.web.dialog_text(5).await.contains("unsaved changes"));
    f.web.answer_dialog(false).await;
    let kept = f.web.js("return document.querySelector('#yaml').value.endsWith('not_a_field: 1')", json!([])).await;
    assert_eq!(kept, json!(true));

    // A diff of a long file opens at its first change (near the end here).
    f.web.js("const a = document.querySelector('#yaml'); a.value = a.value.replace(/\\nnot_a_field: 1$/, '\\n# checked'); a.dispatchEvent(new Event('input'));", json!([])).await;
    f.web.click_css("ol.versions button", 5).await;
    f.web.wait_js("the diff", "return document.querySelector('#diff ins')", 10).await;
    let view = f
        .web
        .js(
            "const pre = document.querySelector('#diff'); const ins = pre.querySelector('ins');
             return [pre.scrollTop, ins.offsetTop >= pre.scrollTop && ins.offsetTop + ins.offsetHeight <= pre.scrollTop + pre.clientHeight];",
            json!([]),
        )
        .await;
    assert!(view[0].as_f64().unwrap() > 0.0 && view[1] == json!(true), "the first change is in view: {view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_editor_keeps_its_place_sqlite() {
    workflow_editor_keeps_its_place(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_editor_keeps_its_place_postgres() {
    workflow_editor_keeps_its_place(Backend::Postgres).await;
}
