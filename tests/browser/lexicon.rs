//! The clinical lexicon in the browser: the super-user's Lexicon page (release entries marked,
//! removed and restored; a trust term added; a word list imported) and the secretary's
//! spell-check, which underlines a misspelt medicine in the letter and offers the lexicon's
//! spelling.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::Flow;
use crate::webdriver::keys;

/// The text of the rows the Lexicon page shows.
const ROWS: &str = "[...document.querySelectorAll('#lex-rows tr')].map((r) => r.textContent).join('\\n')";

pub async fn superuser_manages_the_lexicon(f: &Flow) {
    // The flow before this one may have left someone signed in.
    if f.web.js("return document.querySelector('#who button') !== null", json!([])).await == json!(true) {
        f.sign_out().await;
    }
    f.sign_in("admin", "/app/workflows").await;
    f.web.click_css("a[href='/app/lexicon']", 5).await;
    f.web
        .wait_js(
            "the lexicon's size",
            "return /^\\d+ entries$/.test(document.querySelector('#lex-total').textContent)",
            10,
        )
        .await;
    let stats = f.web.wait_js("the counts", "return document.querySelector('#lex-stats').textContent", 10).await;
    assert!(stats.as_str().unwrap().contains("medicine"), "counts by category: {stats}");

    // A release entry is marked as such; removing it keeps it listed as removed, restorable.
    let q = f.web.find("#lex-q").await.unwrap();
    f.web.type_into(&q, &format!("furosemide{}", keys::ENTER)).await;
    f.web
        .wait_js(
            "the release entry",
            "const r = document.querySelector('#lex-rows tr[data-id]'); \
             return r && r.textContent.startsWith('furosemide') && r.querySelector('.lex-release') !== null",
            10,
        )
        .await;
    f.web.click_css("#lex-rows tr[data-id] button", 5).await;
    f.web
        .wait_js(
            "removed",
            "const r = document.querySelector('#lex-rows tr[data-id]'); \
             return r && r.querySelector('td.lex-removed') && r.textContent.includes('(removed)') && r.querySelector('button').textContent === 'Restore'",
            10,
        )
        .await;
    let listed = f.api("admin", "/api/v1/lexicon?q=furosemide&source=release").await;
    assert_eq!(listed["items"][0]["removed"], true, "{listed}");
    f.web.click_css("#lex-rows tr[data-id] button", 5).await;
    f.web
        .wait_js(
            "restored",
            "const r = document.querySelector('#lex-rows tr[data-id]'); \
             return r && !r.querySelector('td.lex-removed') && r.querySelector('button').textContent === 'Remove'",
            10,
        )
        .await;

    // A trust-specific medicine, added by hand.
    f.web.type_into(&f.web.find("#lex-term").await.unwrap(), "Velqumab").await;
    f.web.js("document.querySelector('#lex-new-category').value = 'medicine'", json!([])).await;
    f.web.click_css(".wf-layout > form.card:first-child button[type=submit]", 5).await;
    f.web
        .wait_js(
            "added",
            "return document.querySelector('#lex-add-status').textContent === 'Added “Velqumab” to global.'",
            10,
        )
        .await;

    // A word list file: two new terms, one already known, one line that is not a term.
    let list = f.app.dir.path().join("trust-terms.txt");
    std::fs::write(&list, "Dornavacizumab\nTrelquinide\nfurosemide\nnot a term: 42 %\n").unwrap();
    f.web.type_into(&f.web.find("#lex-file").await.unwrap(), &list.to_string_lossy()).await;
    f.web.click_css(".wf-layout > form.card:last-child button[type=submit]", 5).await;
    let status =
        f.web.wait_js("the import", "return document.querySelector('#lex-import-status').textContent", 10).await;
    assert!(status.as_str().unwrap().starts_with("2 added, 1 already present, 1 invalid."), "import: {status}");
    f.web.js("document.querySelector('#lex-q').value = ''", json!([])).await;
    f.web.type_into(&q, &format!("Trelquinide{}", keys::ENTER)).await;
    let rows = f
        .web
        .wait_js(
            "the imported term",
            &format!("const rows = {ROWS}; return rows.includes('Trelquinide') ? rows : null"),
            10,
        )
        .await;
    assert!(rows.as_str().unwrap().contains("imported"), "the imported term's source: {rows}");
    f.sign_out().await;
}

/// The secretary misspells a medicine in a letter: it is underlined, and the lexicon's spelling
/// is offered from the keyboard (Shift+F10) and replaces it.
pub async fn secretary_spell_checks(f: &Flow) {
    let token = &f.tokens["dr.patel"];
    let audio = crate::helpers::fixture("speech_3s.wav");
    let resp = f.app.upload(token, audio, "speech.wav", &[("specialty", "Cardiology")]).await;
    assert_eq!(resp.status().as_u16(), 201);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let d = f.api("dr.patel", &format!("/api/v1/dictations/{id}")).await;
        if d["transcription"]["status"] == "done" && d["draft"]["text"].is_string() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no draft: {d}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    f.sign_in("sec.jones", "/app/queue").await;
    f.web.goto(&f.url(&format!("/app/dictations/{id}"))).await;
    f.web.click_css("button[data-action=claim]", 10).await;
    let draft = f.web.wait("#draft:not([readonly])", 10).await;
    let typed = " Continue furosemdie 40 mg daily.";
    f.web.js("const a = document.querySelector('#draft'); a.focus(); a.setSelectionRange(a.value.length, a.value.length)", json!([])).await;
    f.web.type_into(&draft, typed).await;
    f.web
        .wait_js(
            "the underline",
            "return [...document.querySelectorAll('mark.misspelt')].some((m) => m.textContent === 'furosemdie')",
            10,
        )
        .await;
    // Only the misspelt word: the English and the medicine's dose are not flagged.
    let flagged =
        f.web.js("return [...document.querySelectorAll('mark.misspelt')].map((m) => m.textContent)", json!([])).await;
    for word in ["Continue", "daily", "mg"] {
        assert!(!flagged.as_array().unwrap().iter().any(|w| w == word), "{word} is not misspelt: {flagged}");
    }

    f.web
        .js(
            "const a = document.querySelector('#draft'); const at = a.value.indexOf('furosemdie') + 3; a.setSelectionRange(at, at)",
            json!([]),
        )
        .await;
    f.web.type_into(&draft, &format!("{}{}{}", keys::SHIFT, keys::F10, keys::RELEASE)).await;
    f.web
        .wait_js(
            "the suggestions",
            "const m = document.querySelector('#spell-menu'); \
             return !m.hidden && [...m.querySelectorAll('button')].some((b) => b.textContent === 'furosemide')",
            10,
        )
        .await;
    f.web
        .js(
            "[...document.querySelectorAll('#spell-menu button')].find((b) => b.textContent === 'furosemide').click()",
            json!([]),
        )
        .await;
    let value = f.web.js("return document.querySelector('#draft').value", json!([])).await;
    assert!(value.as_str().unwrap().ends_with(" Continue furosemide 40 mg daily."), "{value}");
    f.web
        .wait_js(
            "no underline left",
            "return document.querySelector('#spell-menu').hidden && \
             ![...document.querySelectorAll('mark.misspelt')].some((m) => m.textContent.startsWith('furosem'))",
            10,
        )
        .await;
    f.sign_out().await;
}
