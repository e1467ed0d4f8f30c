//! HMAC-SHA256 (RFC 2104) for the `X-Dictaflow-Signature` header, over the `sha2` crate
//! the server already uses for audio hashes. Pinned by the RFC 4231 test vectors.

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

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

/// The header value: `sha256=<lowercase hex>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body)))
}

/// Checks a header value in constant time (for receivers, and the tests).
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let expected = signature(secret, body);
    let (a, b) = (expected.as_bytes(), header.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    fn verify_accepts_only_the_right_signature() {
        let sig = signature("s3cret-s3cret-s3cret", b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify("s3cret-s3cret-s3cret", b"{\"a\":1}", &sig));
        assert!(!verify("s3cret-s3cret-s3creT", b"{\"a\":1}", &sig));
        assert!(!verify("s3cret-s3cret-s3cret", b"{\"a\":2}", &sig));
        assert!(!verify("s3cret-s3cret-s3cret", b"{\"a\":1}", &sig[..20]));
    }
}
