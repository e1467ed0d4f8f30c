//! The YAML reader under hostile input: nesting is capped, and arbitrary or mutated
//! documents (tokens of YAML's syntax, and the shipped workflows with random edits)
//! never panic, never nest past the cap and never hold more than the node cap. Bounded
//! (case counts and input sizes) so it runs in CI in seconds.

use proptest::prelude::*;

use super::ctx;
use crate::workflow::report::Report;
use crate::workflow::yaml::{MAX_DEPTH, MAX_NODES, Node, Value, parse};
use crate::workflow::{defaults, parse_and_validate, parse_and_validate_routing};

/// (depth, nodes) of a tree: depth counts the lists and mappings on the longest path.
fn measure(node: &Node) -> (usize, usize) {
    let children: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Map(entries) => entries.iter().map(|(_, n)| n).collect(),
        Value::Null | Value::Text(_) => return (0, 1),
    };
    children.iter().map(|c| measure(c)).fold((1, 1), |(d, n), (cd, cn)| (d.max(cd + 1), n + cn))
}

fn nested(style: usize, depth: usize) -> String {
    match style {
        0 => "- ".repeat(depth) + "x",
        1 => "[".repeat(depth) + "x" + &"]".repeat(depth),
        2 => "{a: ".repeat(depth) + "x" + &"}".repeat(depth),
        _ => (0..depth).map(|i| format!("{}k:\n", "  ".repeat(i))).collect::<String>() + &"  ".repeat(depth) + "x",
    }
}

#[test]
fn nesting_is_capped_at_max_depth() {
    for style in 0..4 {
        let mut report = Report::default();
        let node = parse(&nested(style, MAX_DEPTH), &mut report).unwrap_or_else(|| panic!("style {style}"));
        assert_eq!(measure(&node).0, MAX_DEPTH, "style {style}");
        for depth in [MAX_DEPTH + 1, 20_000] {
            let mut report = Report::default();
            assert!(parse(&nested(style, depth), &mut report).is_none(), "style {style}, depth {depth}");
            // (Flow nesting past 255 levels is refused by the scanner itself, first.)
            let errors = report.into_errors();
            let refused = |e: &crate::workflow::ValidationError| {
                e.message.contains("nested too deeply") || e.message.contains("recursion limit")
            };
            assert!(errors.iter().any(refused), "{errors:?}");
        }
    }
    let errors = parse_and_validate(&nested(0, 100_000), &ctx()).unwrap_err();
    assert!(errors[0].message.contains("nested too deeply"), "{errors:?}");
}

/// Pieces of YAML syntax, so random documents reach deep into the parser.
const TOKENS: &[&str] = &[
    "- ",
    "-",
    " ",
    "  ",
    "\n",
    ":",
    ": ",
    "? ",
    ",",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!tag ",
    "!!str ",
    "'",
    "\"",
    "#",
    "|",
    ">",
    "---\n",
    "...\n",
    "x",
    "name",
    "stages",
    "\\",
    "\t",
    "%YAML 1.2\n",
    "é",
    "~",
    "0",
];

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..300).prop_map(|t| t.concat())
}

/// A shipped workflow with a few random edits: a token inserted, a span deleted, or a
/// span repeated (which nests or duplicates whatever it holds).
fn mutated() -> impl Strategy<Value = String> {
    let edit = (0usize..4, any::<prop::sample::Index>(), 0usize..64, prop::sample::select(TOKENS));
    (0usize..3, prop::collection::vec(edit, 1..8)).prop_map(|(which, edits)| {
        let mut text = defaults::workflows()[which].1.to_string();
        for (kind, at, len, token) in edits {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + len).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            match kind {
                0 => text.insert_str(at, token),
                1 => text.replace_range(at..end, ""),
                2 => {
                    let span = text[at..end].to_string();
                    text.insert_str(at, &span.repeat(8));
                }
                _ => text.replace_range(at..end, token),
            }
        }
        text
    })
}

fn within_bounds(text: &str) {
    let mut report = Report::default();
    if let Some(node) = parse(text, &mut report) {
        let (depth, nodes) = measure(&node);
        assert!(depth <= MAX_DEPTH, "depth {depth}");
        assert!(nodes <= MAX_NODES, "{nodes} nodes");
    }
    // The readers on top never panic either, whatever the tree.
    let _ = parse_and_validate(text, &ctx());
    let _ = parse_and_validate_routing(text, &crate::workflow::ValidationContext::lenient());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_documents_stay_within_bounds(text in document()) {
        within_bounds(&text);
    }

    #[test]
    fn mutated_workflows_stay_within_bounds(text in mutated()) {
        within_bounds(&text);
    }

    #[test]
    fn arbitrary_bytes_stay_within_bounds(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        within_bounds(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn any_nesting_is_parsed_or_refused(style in 0usize..4, depth in 0usize..200) {
        let mut report = Report::default();
        let parsed = parse(&nested(style, depth), &mut report);
        prop_assert_eq!(parsed.is_some(), depth <= MAX_DEPTH);
    }
}
