//! Whisper BPE vocabulary import: GPT-2 byte-to-unicode table and token list loading.
//!
//! CTranslate2 stores tokens in their "printable" byte-level form (every raw byte mapped to
//! a visible unicode character). whisper.cpp wants the raw bytes, so we invert GPT-2's
//! byte-to-unicode mapping. Only the regular BPE tokens (ids below `<|endoftext|>`) are
//! exported; whisper.cpp creates the special and timestamp tokens itself.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

/// The end-of-text marker; every id from here on is a special token.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// GPT-2's byte-to-unicode table: `table[b]` is the printable char standing for byte `b`.
///
/// Printable latin-1 bytes (`!`..=`~`, `¡`..=`¬`, `®`..=`ÿ`) stand for themselves; the
/// remaining 68 bytes are assigned code points 256, 257, ... in increasing byte order.
pub fn byte_to_unicode() -> [char; 256] {
    let printable = |b: u32| (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || b >= 0xae;
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let cp = if printable(b) {
            b
        } else {
            next += 1;
            next - 1
        };
        table[b as usize] = char::from_u32(cp).expect("valid code point");
    }
    table
}

/// Inverse of [`byte_to_unicode`].
pub fn unicode_to_byte() -> HashMap<char, u8> {
    byte_to_unicode().iter().enumerate().map(|(b, &c)| (c, b as u8)).collect()
}

/// Turn one byte-level token string back into its raw bytes.
pub fn token_bytes(token: &str, decoder: &HashMap<char, u8>) -> Result<Vec<u8>> {
    token
        .chars()
        .map(|c| {
            decoder
                .get(&c)
                .copied()
                .ok_or_else(|| anyhow!("token {token:?} has char {c:?} outside the byte-level alphabet"))
        })
        .collect()
}

/// Load the regular tokens (ids `0..eot`) as raw bytes, from `vocabulary.txt` when present,
/// otherwise from `tokenizer.json`.
pub fn load_tokens(ct2_dir: &Path) -> Result<Vec<Vec<u8>>> {
    let txt = ct2_dir.join("vocabulary.txt");
    let strings = if txt.exists() {
        let text = std::fs::read_to_string(&txt).with_context(|| format!("reading {}", txt.display()))?;
        regular_tokens_from_lines(&text)?
    } else {
        let json = ct2_dir.join("tokenizer.json");
        let text = std::fs::read_to_string(&json)
            .with_context(|| format!("neither vocabulary.txt nor {} readable", json.display()))?;
        regular_tokens_from_tokenizer_json(&text)?
    };
    let decoder = unicode_to_byte();
    strings.iter().map(|s| token_bytes(s, &decoder)).collect()
}

/// `vocabulary.txt`: one token per line, line number = id.
fn regular_tokens_from_lines(text: &str) -> Result<Vec<String>> {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let eot = lines
        .iter()
        .position(|l| *l == END_OF_TEXT)
        .ok_or_else(|| anyhow!("vocabulary.txt has no {END_OF_TEXT} line"))?;
    Ok(lines[..eot].iter().map(|s| s.to_string()).collect())
}

/// HuggingFace `tokenizer.json`: `model.vocab` maps token -> id.
fn regular_tokens_from_tokenizer_json(text: &str) -> Result<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(text).context("parsing tokenizer.json")?;
    let vocab = v["model"]["vocab"].as_object().ok_or_else(|| anyhow!("tokenizer.json has no model.vocab object"))?;
    let mut eot = vocab.get(END_OF_TEXT).and_then(|x| x.as_u64());
    if eot.is_none() {
        eot = v["added_tokens"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["content"] == END_OF_TEXT).and_then(|t| t["id"].as_u64()));
    }
    let eot = eot.ok_or_else(|| anyhow!("tokenizer.json has no {END_OF_TEXT}"))? as usize;
    let mut out = vec![None; eot];
    for (tok, id) in vocab {
        let id = id.as_u64().ok_or_else(|| anyhow!("non-integer id for {tok:?}"))? as usize;
        if id < eot {
            out[id] = Some(tok.clone());
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, t)| t.ok_or_else(|| anyhow!("tokenizer.json misses token id {i}")))
        .collect::<Result<Vec<_>>>()
        .and_then(|v| if v.is_empty() { bail!("empty vocabulary") } else { Ok(v) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_a_bijection_with_gpt2_anchors() {
        let t = byte_to_unicode();
        let mut seen: Vec<char> = t.to_vec();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
        assert_eq!(t[b'A' as usize], 'A');
        assert_eq!(t[b'!' as usize], '!');
        // Space, newline and NUL are the well-known 'Ġ', 'Ċ' and 'Ā'.
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[0], 'Ā');
        assert_eq!(t[0xad], 'Ń'); // soft hyphen is the last remapped byte: 256 + 67
        assert_eq!(t[0xff], 'ÿ');
    }

    #[test]
    fn decodes_byte_level_tokens() {
        let d = unicode_to_byte();
        assert_eq!(token_bytes("Ġhello", &d).unwrap(), b" hello");
        // "é" in UTF-8 is C3 A9, which byte-level BPE writes as "Ã©".
        assert_eq!(token_bytes("Ã©", &d).unwrap(), "é".as_bytes());
        assert!(token_bytes("\u{4e00}", &d).is_err());
    }

    #[test]
    fn vocabulary_lines_stop_at_end_of_text() {
        let v = regular_tokens_from_lines("a\nb\nĠc\n<|endoftext|>\n<|startoftranscript|>").unwrap();
        assert_eq!(v, vec!["a", "b", "Ġc"]);
    }

    #[test]
    fn tokenizer_json_fallback() {
        let j = r#"{"model":{"vocab":{"b":1,"a":0}},"added_tokens":[{"id":2,"content":"<|endoftext|>"}]}"#;
        assert_eq!(regular_tokens_from_tokenizer_json(j).unwrap(), vec!["a", "b"]);
    }
}
