//! Routing: the most specific rule wins whatever the order; overlaps, duplicates, gaps
//! and unknown names are reported with line, column and path.

use super::ctx;
use crate::workflow::{Priority, RouteQuery, RoutingTable, ValidationContext, defaults, parse_and_validate_routing};

const DEPARTMENT: &str = "\
rules:
  - name: default
    when: {}
    workflow: clinic-letter
  - name: two-week-wait
    when: { priority: two_week_wait }
    workflow: fast-track
    pool: cancer-secretaries
  - name: ent
    when: { specialty: ENT }
    workflow: clinic-letter
    pool: ent-secretaries
  - name: ent-fast-track
    when: { specialty: ENT, priority: two_week_wait }
    workflow: fast-track
    pool: ent-secretaries
  - name: self-typist
    when: { clinician: dr.okafor }
    workflow: self-typed
  - name: self-typist-ent
    when: { clinician: dr.okafor, specialty: ENT }
    workflow: self-typed
    pool: ent-secretaries
  - name: self-typist-urgent-cancer
    when: { clinician: dr.okafor, priority: two_week_wait }
    workflow: fast-track
  - name: self-typist-ent-cancer
    when: { clinician: dr.okafor, specialty: ENT, priority: two_week_wait }
    workflow: fast-track
    pool: ent-secretaries
";

fn routes(table: &RoutingTable) -> Vec<&str> {
    #[rustfmt::skip]
    let queries = [
        (Some("ENT"), "dr.patel", Priority::Routine),
        (Some("ent"), "dr.patel", Priority::TwoWeekWait),
        (Some("Cardiology"), "dr.patel", Priority::TwoWeekWait),
        (None, "dr.patel", Priority::Urgent),
        (Some("ENT"), "dr.okafor", Priority::Urgent),
        (Some("Cardiology"), "dr.okafor", Priority::Routine),
        (Some("Cardiology"), "dr.okafor", Priority::TwoWeekWait),
        (Some("ENT"), "dr.okafor", Priority::TwoWeekWait),
    ];
    queries
        .iter()
        .map(|(specialty, clinician, priority)| {
            let q = RouteQuery {
                specialty: *specialty,
                clinician,
                letter_type: Some("clinic_letter"),
                priority: *priority,
            };
            table.route(&q).map(|r| r.name.as_str()).unwrap_or("-")
        })
        .collect()
}

#[test]
fn the_most_specific_rule_wins_whatever_the_order() {
    let table = parse_and_validate_routing(DEPARTMENT, &ctx()).unwrap();
    let expected = [
        "ent",
        "ent-fast-track",
        "two-week-wait",
        "default",
        "self-typist-ent",
        "self-typist",
        "self-typist-urgent-cancer",
        "self-typist-ent-cancer",
    ];
    assert_eq!(routes(&table), expected);
    let mut reversed = table.clone();
    reversed.rules.reverse();
    assert_eq!(routes(&reversed), expected);
    let ent = table.rules.iter().find(|r| r.name == "ent-fast-track").unwrap();
    assert_eq!((ent.workflow.as_str(), ent.pool.as_deref()), ("fast-track", Some("ent-secretaries")));
}

#[test]
fn shipped_routing_is_valid_and_sends_two_week_wait_to_fast_track() {
    let table = parse_and_validate_routing(defaults::ROUTING, &ValidationContext::with_defaults()).unwrap();
    let q = |priority| RouteQuery { specialty: Some("ENT"), clinician: "dr.x", letter_type: None, priority };
    assert_eq!(table.route(&q(Priority::Routine)).unwrap().workflow, "clinic-letter");
    assert_eq!(table.route(&q(Priority::Urgent)).unwrap().workflow, "clinic-letter");
    assert_eq!(table.route(&q(Priority::TwoWeekWait)).unwrap().workflow, "fast-track");
}

const SMALL: &str = "\
rules:
  - name: default
    when: {}
    workflow: clinic-letter
  - name: ent
    when: { specialty: ENT }
    workflow: clinic-letter
    pool: ent-secretaries
";

#[test]
fn routing_mistakes_table() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &str, usize, usize, &str)] = &[
        ("overlap without a rule for it", "  - name: ent\n", "  - name: okafor\n    when: { clinician: dr.okafor }\n    workflow: self-typed\n  - name: ent\n",
            "rules[2].when", 9, 11, "overlaps rule `okafor`: a dictation matching {specialty: ent, clinician: dr.okafor} matches both and neither is more specific; add a rule with `when: {specialty: ent, clinician: dr.okafor}`"),
        ("same conditions twice", "when: { specialty: ENT }", "when: { specialty: ent }\n    workflow: fast-track\n  - name: ent2\n    when: { specialty: Ent }", "rules[2].when", 9, 11, "same conditions as rule `ent`"),
        ("no catch-all", "    when: {}\n", "    when: { priority: [routine, urgent] }\n", "rules", 1, 1, "no rule routes two_week_wait dictations"),
        ("unknown workflow", "workflow: clinic-letter\n  - name: ent", "workflow: clinic-leter\n  - name: ent", "rules[0].workflow", 4, 15, "unknown workflow `clinic-leter`; did you mean `clinic-letter`?"),
        ("unknown pool", "pool: ent-secretaries", "pool: ent-secs", "rules[1].pool", 8, 11, "unknown team `ent-secs`"),
        ("unknown clinician", "specialty: ENT", "clinician: dr.nobody", "rules[1].when.clinician", 6, 24, "unknown clinician `dr.nobody`"),
        ("bad priority", "specialty: ENT", "priority: [urgent, asap]", "rules[1].when.priority", 6, 23, "unknown priority `asap`"),
        ("empty list", "specialty: ENT", "specialty: []", "rules[1].when.specialty", 6, 24, "an empty list matches nothing"),
        ("typo in a condition", "specialty: ENT", "speciality: ENT", "rules[1].when.speciality", 6, 13, "did you mean `specialty`?"),
        ("missing workflow", "    workflow: clinic-letter\n    pool", "    pool", "rules[1].workflow", 5, 5, "missing field `workflow`"),
        ("syntax error", "when: {}", "when: {", "", 4, 5, "YAML syntax error"),
        ("rules not a list", "rules:\n", "rules: 3\nx:\n", "rules", 1, 8, "expected a list of rules"),
    ];
    for (what, from, to, path, line, column, fragment) in cases {
        assert!(SMALL.contains(from), "{what}");
        let yaml = SMALL.replacen(from, to, 1);
        let errs = parse_and_validate_routing(&yaml, &ctx()).unwrap_err();
        let Some(e) = errs.iter().find(|e| e.path == *path && e.message.contains(fragment)) else {
            panic!("{what}: no {fragment:?} at {path}: {errs:#?}");
        };
        assert_eq!((e.line, e.column), (*line, *column), "{what}: {e}");
    }
}

#[test]
fn listing_every_priority_is_the_same_as_any_priority() {
    let yaml = SMALL.replacen("    when: {}\n", "    when: { priority: [routine, urgent, two_week_wait] }\n", 1);
    let table = parse_and_validate_routing(&yaml, &ctx()).unwrap();
    assert_eq!(table.rules[0].when.priority, None);
}
