//! The letter template editor: a super-user edits a template and sees the live preview of a
//! real letter change as they type; a mistake is shown with its line; the saved template
//! is the one the API answers with.

use serde_json::json;

use crate::Flow;

pub async fn superuser_edits_a_letter_template(f: &Flow, id: &str) {
    f.sign_in("admin", "/app/workflows").await;
    f.web.click_css("a[href='/app/letters']", 5).await;
    f.web.wait("#tpl-form", 10).await;
    // The dictated letter of the earlier steps is in the preview, in the shipped template.
    f.web
        .wait_js(
            "the preview of the letter",
            &format!(
                "return document.querySelector('#tpl-dictation').value === {id:?} \
                 && document.querySelector('#letter-preview').textContent.includes('Corrected') \
                 && document.querySelector('#tpl-source').textContent === 'Shipped template'"
            ),
            20,
        )
        .await;
    f.web.js("const s = document.querySelector('#tpl-type'); s.value = 'clinic_letter'; s.dispatchEvent(new Event('change'))", json!([])).await;
    f.web
        .wait_js(
            "the clinic letter",
            "return document.querySelector('#tpl-body').value.startsWith('@title Clinic letter')",
            10,
        )
        .await;

    // Typing a heading into the template shows it in the preview.
    let body = f.web.find("#tpl-body").await.unwrap();
    f.web.js("const b = document.querySelector('#tpl-body'); b.focus(); b.setSelectionRange(b.value.length, b.value.length)", json!([])).await;
    f.web.type_into(&body, "\n## Copy for the records").await;
    f.web
        .wait_js(
            "the new heading in the preview",
            "return [...document.querySelectorAll('#letter-preview h3')].some((e) => e.textContent === 'Copy for the records')",
            10,
        )
        .await;
    // A field that does not exist is named with its line, and the preview keeps the last good letter.
    f.web.type_into(&body, "\n{{nonsense}}").await;
    f.web
        .wait_js(
            "the error with its line",
            "return [...document.querySelectorAll('#tpl-errors li')].some((e) => /^Line \\d+: unknown field \"nonsense\"/.test(e.textContent))",
            10,
        )
        .await;
    f.web.js("const b = document.querySelector('#tpl-body'); b.value = b.value.replace('\\n{{nonsense}}', ''); b.dispatchEvent(new Event('input'))", json!([])).await;
    f.web.wait_js("no errors", "return document.querySelectorAll('#tpl-errors li').length === 0", 10).await;
    f.shot("letter-template").await;
    f.web.click_css("#tpl-form button[type=submit]", 5).await;
    f.web.wait_js("saved", "return document.querySelector('#tpl-status').textContent === 'Template saved.'", 10).await;
    let saved = f.api("admin", "/api/v1/letter-templates/clinic_letter").await;
    assert_eq!(saved["source"], "custom");
    assert!(saved["body"].as_str().unwrap().ends_with("## Copy for the records"), "{saved}");
    f.sign_out().await;
}
