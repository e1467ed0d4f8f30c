//! Checking a definition file whatever it holds (a workflow, the routing table or a
//! calendar), as the `dictaflow workflows validate` command does offline.

use super::report::{Report, ValidationContext, ValidationError};
use super::{parse_and_validate, parse_and_validate_routing, parse_calendar, yaml};

/// What a file holds, judged by its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Workflow,
    Routing,
    Calendar,
}

pub fn kind_of(text: &str) -> FileKind {
    let mut r = Report::default();
    let Some(root) = yaml::parse(text, &mut r) else { return FileKind::Workflow };
    if root.get("rules").is_some() {
        FileKind::Routing
    } else if root.get("bank_holidays").is_some() || root.get("timezone").is_some() {
        FileKind::Calendar
    } else {
        FileKind::Workflow
    }
}

/// Every error in the file. Team, user and workflow names are not checked (`ctx` decides).
pub fn check(text: &str, ctx: &ValidationContext) -> (FileKind, Vec<ValidationError>) {
    let kind = kind_of(text);
    let errors = match kind {
        FileKind::Workflow => parse_and_validate(text, ctx).err(),
        FileKind::Routing => parse_and_validate_routing(text, ctx).err(),
        FileKind::Calendar => parse_calendar(text).err(),
    };
    (kind, errors.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{calendar_file, defaults};

    #[test]
    fn shipped_files_are_recognised_and_valid() {
        let ctx = ValidationContext::lenient();
        for (text, kind) in [
            (defaults::CLINIC_LETTER, FileKind::Workflow),
            (defaults::ROUTING, FileKind::Routing),
            (calendar_file::ENGLAND_AND_WALES_YAML, FileKind::Calendar),
        ] {
            assert_eq!(check(text, &ctx), (kind, vec![]));
        }
    }

    #[test]
    fn alias_bombs_are_refused_not_expanded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let (_, errors) = check(&text, &ValidationContext::lenient());
        assert!(errors.iter().any(|e| e.message.contains("too large")), "{errors:?}");
    }
}
