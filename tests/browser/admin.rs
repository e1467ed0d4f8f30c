//! Super-user pages beyond the first flows: recognition settings and the model choice, and
//! the administrative pages at phone width.

use serde_json::{Value, json};

use crate::Flow;

/// The id the recognition page gives a model's radio button.
fn model_radio(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    format!("rec-model-{safe}")
}

/// Super-user: the recognition page shows the model in use and which models can be chosen
/// (the others with the command that installs them); a language the English-only model
/// cannot recognise is refused at its field; beam search, no VAD, a threshold and the
/// quantized model are saved, and the server switches to that model.
pub async fn superuser_tunes_recognition(f: &Flow) {
    f.sign_in("admin", "/app/workflows").await;
    f.web.click_css("a[href='/app/recognition']", 5).await;
    f.web.wait("#rec-settings", 10).await;
    let tiny = model_radio("tiny.en");
    f.web
        .wait_js(
            "the model in use",
            &format!(
                "return document.getElementById('{tiny}').checked && document.querySelector('#rec-loaded').textContent === 'tiny.en'"
            ),
            10,
        )
        .await;
    let models = f.api("admin", "/api/v1/models").await;
    let missing =
        models["items"].as_array().unwrap().iter().find(|m| m["installed"] == false).expect("a model not installed");
    let name = missing["name"].as_str().unwrap();
    let radio = model_radio(name);
    let shown = f
        .web
        .js(&format!("const r = document.getElementById('{radio}'); return [r.disabled, document.getElementById('{radio}-hint').textContent]"), json!([]))
        .await;
    assert_eq!(shown[0], true, "{name} cannot be chosen: {shown}");
    assert!(shown[1].as_str().unwrap().contains(&format!("dictaflow models fetch {name}")), "{shown}");

    let language = f.web.find("#rec-language").await.unwrap();
    f.web.type_into(&language, "fr").await;
    f.web.click_css("#rec-settings button[type=submit]", 5).await;
    f.web
        .wait_js(
            "the language error",
            "return document.querySelector('#rec-language-error').textContent.includes('English-only') \
             && document.activeElement.id === 'rec-language' && document.querySelector('#rec-status').textContent.startsWith('Not saved')",
            10,
        )
        .await;
    assert_eq!(f.api("admin", "/api/v1/settings/recognition").await["version"], 0, "nothing saved");

    f.web
        .js(
            "document.querySelector('#rec-language').value = ''; document.querySelector('#rec-beam').value = '5'; \
             document.querySelector('#rec-threshold').value = ''",
            json!([]),
        )
        .await;
    f.web.type_into(&f.web.find("#rec-threshold").await.unwrap(), "0.6").await;
    // Space on the focused checkbox turns VAD off.
    f.web.type_into(&f.web.find("#rec-vad").await.unwrap(), " ").await;
    f.web.click_css(&format!("#{}", model_radio("tiny.en-q8_0")), 5).await;
    f.web.click_css("#rec-settings button[type=submit]", 5).await;
    f.web
        .wait_js(
            "saved",
            "return document.querySelector('#rec-status').textContent === 'Saved (version 1): new dictations use tiny.en-q8_0.' \
             && document.querySelector('#rec-loaded').textContent === 'tiny.en-q8_0'",
            20,
        )
        .await;
    assert_eq!(f.web.js("return document.querySelector('#rec-language-error').textContent", json!([])).await, "");
    let s = f.api("admin", "/api/v1/settings/recognition").await;
    let got: Value = json!([s["model"], s["beam_size"], s["vad"], s["low_confidence_threshold"], s["language"]]);
    assert_eq!(got, json!(["tiny.en-q8_0", 5, false, 0.6, ""]), "{s}");
    let (_, ready) = f.app.get_json(&f.tokens["admin"], "/readyz").await;
    assert_eq!(ready["model"]["name"], "tiny.en-q8_0", "{ready}");
    let row = f.web.text(&f.web.find("#models tr[data-model='tiny.en-q8_0']").await.unwrap()).await;
    assert!(row.contains("New dictations") && row.contains("Loaded"), "{row}");
    f.web.js("window.scrollTo(0, 0)", json!([])).await;
    f.shot("recognition").await;
}

/// Elements of the main content reaching past the viewport (those inside their own
/// scrolling box excepted), and the page's width against the viewport's.
const OVERFLOW: &str = "const wide = [...document.querySelectorAll('main *')].filter(e => \
    e.getBoundingClientRect().right > innerWidth + 1 && !e.parentElement.closest('.table-scroll, .editor, pre')) \
    .slice(0, 8).map(e => `${e.tagName}#${e.id}.${e.className}`); \
    return { wide, page: document.documentElement.scrollWidth, viewport: innerWidth };";

/// The super-user pages at phone width: nothing but tables (in their own box) scrolls sideways.
pub async fn superuser_pages_on_a_phone(f: &Flow) {
    f.web.window_size(390, 844).await;
    let pages = [
        ("/app/workflows", "a[href='/app/workflows/clinic-letter']", "phone-workflows"),
        ("/app/workflows/clinic-letter", "svg.diagram", "phone-workflow-editor"),
        ("/app/users", "#users tr[data-username='sec.new']", "phone-users"),
        ("/app/recognition", "#rec-model input:checked", "phone-recognition"),
    ];
    for (path, ready, shot) in pages {
        f.web.goto(&f.url(path)).await;
        f.web.wait(ready, 10).await;
        let o = f.web.js(OVERFLOW, json!([])).await;
        assert_eq!(o["wide"], json!([]), "{path} at 390 px: {o}");
        assert!(o["page"].as_i64().unwrap() <= o["viewport"].as_i64().unwrap(), "{path} scrolls sideways: {o}");
        f.shot(shot).await;
    }
    f.web.window_size(1280, 900).await;
    f.sign_out().await;
}
