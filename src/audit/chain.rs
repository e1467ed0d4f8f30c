//! The hash chain: the canonical encoding of an entry, its hash, and the check of a
//! sequence of stored rows. Pure; the database side is in [`super::store`].

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Millis;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit row, as read back and as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub seq: i64,
    pub at: Millis,
    pub actor_id: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object as stored (the exact text is what is hashed).
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The canonical encoding: a JSON array of every field but `hash`, in a fixed order,
/// `prev_hash` last. JSON strings escape unambiguously, so no two entries share an encoding.
pub fn canonical(r: &Record) -> String {
    serde_json::json!([
        r.seq,
        r.at,
        r.actor_id,
        r.actor,
        r.action,
        r.target_type,
        r.target_id,
        r.client_addr,
        r.user_agent,
        r.details,
        r.prev_hash,
    ])
    .to_string()
}

/// SHA-256 of the canonical encoding, lowercase hex.
pub fn hash_of(r: &Record) -> String {
    hex::encode(Sha256::digest(canonical(r).as_bytes()))
}

/// Why the chain is broken at a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("row seq {seq}: expected seq {expected} (a row is missing or was inserted)")]
    Gap { seq: i64, expected: i64 },
    #[error("row seq {seq}: prev_hash does not match the hash of the row before it")]
    PrevHash { seq: i64 },
    #[error("row seq {seq}: its contents do not match its hash (the row was altered)")]
    Hash { seq: i64 },
    #[error("the chain head says seq {head_seq} but the last row is seq {last_seq} (rows were removed from the end)")]
    Head { head_seq: i64, last_seq: i64 },
}

impl Break {
    /// The sequence number of the first bad row.
    pub fn seq(&self) -> i64 {
        match self {
            Self::Gap { seq, .. } | Self::PrevHash { seq } | Self::Hash { seq } => *seq,
            Self::Head { last_seq, .. } => last_seq + 1,
        }
    }
}

/// Walks rows in `seq` order. Keeps the position between calls so that a long log is
/// checked in pages.
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: i64,
    prev_hash: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Self { next_seq: 1, prev_hash: GENESIS.to_string() }
    }
}

impl Verifier {
    pub fn check(&mut self, r: &Record) -> Result<(), Break> {
        if r.seq != self.next_seq {
            return Err(Break::Gap { seq: r.seq, expected: self.next_seq });
        }
        if r.prev_hash != self.prev_hash {
            return Err(Break::PrevHash { seq: r.seq });
        }
        if hash_of(r) != r.hash {
            return Err(Break::Hash { seq: r.seq });
        }
        self.next_seq += 1;
        self.prev_hash = r.hash.clone();
        Ok(())
    }

    /// The last seq checked (0 before the first row).
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// Compares the end of the walk with the stored chain head.
    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), Break> {
        if head_seq != self.last_seq() || head_hash != self.prev_hash {
            return Err(Break::Head { head_seq, last_seq: self.last_seq() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Record> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = Record {
                    seq,
                    at: 1_000 * seq,
                    actor_id: Some("u1".into()),
                    actor: Some("dr.patel".into()),
                    action: "dictation.view".into(),
                    target_type: Some("dictation".into()),
                    target_id: Some(format!("d{seq}")),
                    client_addr: Some("10.0.0.1".into()),
                    user_agent: None,
                    details: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = hash_of(&r);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(rows: &[Record]) -> Result<(), Break> {
        let mut v = Verifier::default();
        rows.iter().try_for_each(|r| v.check(r))?;
        let last = rows.last().map_or((0, GENESIS.to_string()), |r| (r.seq, r.hash.clone()));
        v.finish(last.0, &last.1)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(()));
        assert_eq!(verify(&[]), Ok(()));
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        type Edit = fn(&mut Record);
        let edits: [Edit; 9] = [
            |r| r.at += 1,
            |r| r.actor_id = None,
            |r| r.actor = Some("someone.else".into()),
            |r| r.action = "dictation.audio".into(),
            |r| r.target_type = None,
            |r| r.target_id = Some("d99".into()),
            |r| r.client_addr = Some("10.0.0.2".into()),
            |r| r.user_agent = Some("curl".into()),
            |r| r.details = "{\"x\":1}".into(),
        ];
        for edit in edits {
            let mut rows = chain(4);
            edit(&mut rows[2]);
            assert_eq!(verify(&rows), Err(Break::Hash { seq: 3 }));
        }
    }

    #[test]
    fn deletions_and_rewrites_are_named() {
        let mut rows = chain(5);
        rows.remove(1);
        assert_eq!(verify(&rows).unwrap_err().seq(), 3);
        let rows = chain(5);
        let mut v = Verifier::default();
        rows[..3].iter().for_each(|r| v.check(r).unwrap());
        assert_eq!(v.finish(5, &rows[4].hash).unwrap_err().seq(), 4);
        // Rewriting a row and recomputing its hash still breaks the next link.
        let mut rows = chain(5);
        rows[1].details = "{\"forged\":true}".into();
        rows[1].hash = hash_of(&rows[1]);
        assert_eq!(verify(&rows), Err(Break::PrevHash { seq: 3 }));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = chain(1).remove(0);
        let mut b = a.clone();
        a.actor = Some("ab".into());
        a.action = "c".into();
        b.actor = Some("a".into());
        b.action = "bc".into();
        assert_ne!(canonical(&a), canonical(&b));
    }
}
