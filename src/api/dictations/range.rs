//! Parsing a single-range `Range: bytes=...` header (RFC 9110 section 14).

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No usable range: send everything with 200 (also for multi-range requests, which RFC 9110 allows).
    Full,
    /// Inclusive byte range.
    Partial {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, size: u64) -> Outcome {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Outcome::Full };
    if spec.contains(',') {
        return Outcome::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Outcome::Full };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, true) => return Outcome::Full,
        (true, false) => match last.parse::<u64>() {
            Ok(0) => return Outcome::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size.saturating_sub(1))),
            Err(_) => return Outcome::Full,
        },
        (false, _) => {
            let Ok(start) = first.parse::<u64>() else { return Outcome::Full };
            let end = if last.is_empty() { Ok(u64::MAX) } else { last.parse::<u64>() };
            match end {
                Ok(end) if end >= start => Some((start, end.min(size.saturating_sub(1)))),
                _ => return Outcome::Full,
            }
        }
    };
    match parsed {
        Some((start, end)) if size > 0 && start < size => Outcome::Partial { start, end },
        _ => Outcome::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let cases = [
            (None, Outcome::Full),
            (Some("bytes=0-99"), Outcome::Partial { start: 0, end: 99 }),
            (Some("bytes=900-"), Outcome::Partial { start: 900, end: 999 }),
            (Some("bytes=-100"), Outcome::Partial { start: 900, end: 999 }),
            (Some("bytes=-5000"), Outcome::Partial { start: 0, end: 999 }),
            (Some("bytes=500-5000"), Outcome::Partial { start: 500, end: 999 }),
            (Some("bytes=1000-"), Outcome::Unsatisfiable),
            (Some("bytes=-0"), Outcome::Unsatisfiable),
            (Some("bytes=5-1"), Outcome::Full),
            (Some("bytes=0-1,5-9"), Outcome::Full),
            (Some("items=0-1"), Outcome::Full),
            (Some("bytes=abc"), Outcome::Full),
        ];
        for (h, want) in cases {
            assert_eq!(parse(h, 1000), want, "{h:?}");
        }
    }
}
