//! HMAC-SHA256 (RFC 2104) for the `X-Dictaflow-Signature` header, over the `sha2` crate
//! the server already uses for audio hashes. Pinned by the RFC 4231 test vectors.
//!
//! The signed message is `<X-Dictaflow-Timestamp>.<body>` (the Unix seconds as decimal
//! text, a full stop, then the raw body bytes), so a receiver that rejects old timestamps
//! also rejects a captured request replayed later.

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

/// How far a timestamp may be from the receiver's clock by default (Standard Webhooks
/// and Stripe use five minutes).
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The signed message: `timestamp`, `.`, then `body`.
fn signed_message(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// The header value for a request sent at `timestamp` (Unix seconds): `sha256=<lowercase
/// hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &signed_message(timestamp, body))))
}

/// Why a receiver refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the timestamp header is missing or not a whole number of seconds")]
    BadTimestamp,
    #[error("the timestamp is further from now than the tolerance (a replay, or a skewed clock)")]
    Stale,
    #[error("the signature does not match")]
    BadSignature,
}

/// What a receiver does with the two headers and the raw body: the timestamp must be
/// within `tolerance_seconds` of `now` (Unix seconds) and the signature must match, compared
/// in constant time.
pub fn verify(
    secret: &str,
    timestamp_header: &str,
    body: &[u8],
    signature_header: &str,
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), Rejected> {
    let timestamp: i64 = timestamp_header.trim().parse().map_err(|_| Rejected::BadTimestamp)?;
    if (now - timestamp).abs() > tolerance_seconds {
        return Err(Rejected::Stale);
    }
    let expected = signature(secret, timestamp, body);
    let (a, b) = (expected.as_bytes(), signature_header.as_bytes());
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same { Ok(()) } else { Err(Rejected::BadSignature) }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 section 4: test cases 1, 2, 6 (key longer than a block) and 7.
    #[test]
    fn rfc_4231_vectors() {
        let cases: [(Vec<u8>, &[u8], &str); 4] = [
            (vec![0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. \
                  The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hex::encode(hmac_sha256(&key, data)), want);
        }
    }

    #[test]
    fn verify_accepts_only_the_right_signature_at_the_right_time() {
        const S: &str = "s3cret-s3cret-s3cret";
        let (t, body) = (1_700_000_000, b"{\"a\":1}");
        let sig = signature(S, t, body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        // The message is "<timestamp>.<body>".
        assert_eq!(sig, format!("sha256={}", hex::encode(hmac_sha256(S.as_bytes(), b"1700000000.{\"a\":1}"))));
        let ok = |secret: &str, ts: &str, body: &[u8], sig: &str, now: i64| verify(secret, ts, body, sig, now, 300);
        assert_eq!(ok(S, "1700000000", body, &sig, t + 10), Ok(()));
        assert_eq!(ok("s3cret-s3cret-s3creT", "1700000000", body, &sig, t), Err(Rejected::BadSignature));
        assert_eq!(ok(S, "1700000000", b"{\"a\":2}", &sig, t), Err(Rejected::BadSignature));
        assert_eq!(ok(S, "1700000000", body, &sig[..20], t), Err(Rejected::BadSignature));
        // Another timestamp with the same signature: the timestamp is signed.
        assert_eq!(ok(S, "1700000001", body, &sig, t), Err(Rejected::BadSignature));
        // A replay after the tolerance, or a timestamp from the future.
        assert_eq!(ok(S, "1700000000", body, &sig, t + 301), Err(Rejected::Stale));
        assert_eq!(ok(S, "1700000000", body, &sig, t - 301), Err(Rejected::Stale));
        assert_eq!(ok(S, "soon", body, &sig, t), Err(Rejected::BadTimestamp));
    }
}
