//! Recognises spoken dictation commands in the token stream and turns them into marks and layout.
//!
//! Matching is on whole words, case-insensitive, longest phrase first. A
//! matched phrase stays an ordinary word when its table entry's context
//! rules say so (see `commands.toml`): the word before it is the last word
//! written as a word (a command in between resets it; the recogniser's own
//! punctuation does not), the word after it is the next word in the raw text.

use crate::draft::numbers::parse_number;
use crate::draft::table::{Action, Attach, CommandTable};
use crate::draft::tokenise::{Layout, Token};

/// Longest phrase length looked at, in words.
const MAX_PHRASE_WORDS: usize = 6;

/// Who produced a punctuation mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A spoken command ("comma").
    Spoken,
    /// The recogniser's own punctuation (Whisper's "," or ".").
    Recogniser,
}

/// Case forced on a word by a spoken command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// As written, subject to sentence capitalisation.
    AsIs,
    /// First letter in capitals ("capital").
    Capital,
    /// All capitals ("all caps").
    Upper,
}

/// One piece of the formatted draft, before spacing and capitalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A word to write.
    Word {
        /// The word as written.
        text: String,
        /// Case forced by a command.
        case: Case,
    },
    /// A punctuation mark.
    Punct {
        /// The mark.
        text: String,
        /// Spacing it wants.
        attach: Attach,
        /// Whether the next word starts a sentence.
        sentence_end: bool,
        /// Spoken command or recogniser punctuation.
        origin: Origin,
    },
    /// A layout break.
    Layout(Layout),
}

fn key(token: &Token) -> Option<String> {
    match token {
        Token::Word(w) => Some(w.to_lowercase()),
        _ => None,
    }
}

/// Index of the next word at or after `from`, skipping recogniser
/// punctuation; `None` at the end or at a layout break.
fn next_word(tokens: &[Token], from: usize) -> Option<usize> {
    tokens[from.min(tokens.len())..]
        .iter()
        .position(|t| !matches!(t, Token::Punct { .. }))
        .map(|offset| from + offset)
        .filter(|&i| matches!(tokens[i], Token::Word(_)))
}

/// Turn tokens into items, applying the table's commands.
pub fn apply_commands(tokens: &[Token], table: &CommandTable) -> Vec<Item> {
    let keys: Vec<Option<String>> = tokens.iter().map(key).collect();
    let mut items = Vec::with_capacity(tokens.len());
    let mut prev_word: Option<usize> = None;
    let mut pending_case = Case::AsIs;
    let mut i = 0;
    while i < tokens.len() {
        let word = match &tokens[i] {
            Token::Word(w) => w,
            Token::Punct { text, attach, sentence_end } => {
                items.push(Item::Punct {
                    text: text.clone(),
                    attach: *attach,
                    sentence_end: *sentence_end,
                    origin: Origin::Recogniser,
                });
                i += 1;
                continue;
            }
            Token::Break(layout) => {
                items.push(Item::Layout(*layout));
                prev_word = None;
                i += 1;
                continue;
            }
        };
        let run: Vec<&str> = keys[i..].iter().map_while(|k| k.as_deref()).take(MAX_PHRASE_WORDS).collect();
        if let Some((len, command)) = table.match_at(&run) {
            let next = next_word(tokens, i + len);
            let prev_key = prev_word.and_then(|p| keys[p].as_deref());
            let next_key = next.and_then(|n| keys[n].as_deref());
            if !command.is_literal_in(prev_key, next_key) {
                let consumed = match &command.action {
                    Action::Punctuation { text, attach, sentence_end } => {
                        items.push(Item::Punct {
                            text: text.clone(),
                            attach: *attach,
                            sentence_end: *sentence_end,
                            origin: Origin::Spoken,
                        });
                        Some(i + len)
                    }
                    Action::NewLine => {
                        items.push(Item::Layout(Layout::Line));
                        Some(i + len)
                    }
                    Action::NewParagraph => {
                        items.push(Item::Layout(Layout::Paragraph));
                        Some(i + len)
                    }
                    Action::BulletPoint => {
                        items.push(Item::Layout(Layout::Bullet));
                        Some(i + len)
                    }
                    Action::CapitaliseNext | Action::UppercaseNext => next.inspect(|_| {
                        pending_case =
                            if command.action == Action::UppercaseNext { Case::Upper } else { Case::Capital };
                    }),
                    Action::Numeral => next.and_then(|n| numeral(&keys, n)).map(|(text, end)| {
                        items.push(Item::Word { text, case: Case::AsIs });
                        end
                    }),
                };
                if let Some(end) = consumed {
                    prev_word = None;
                    i = end;
                    continue;
                }
            }
        }
        items.push(Item::Word { text: word.clone(), case: std::mem::replace(&mut pending_case, Case::AsIs) });
        prev_word = Some(i);
        i += 1;
    }
    items
}

/// The digits for the number words starting at token `start`, and the index
/// after them. Digits already written ("numeral 5") are taken as they are.
fn numeral(keys: &[Option<String>], start: usize) -> Option<(String, usize)> {
    let words: Vec<&str> = keys[start..].iter().map_while(|k| k.as_deref()).collect();
    let first = words.first()?;
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        return Some((first.to_string(), start + 1));
    }
    parse_number(&words).map(|m| (m.text, start + m.used))
}
