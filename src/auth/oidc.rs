//! OpenID Connect single sign-on, the relying party: provider discovery, the
//! authorization URL (state, nonce, PKCE S256), the code exchange, and ID token checks
//! (signature RS256/ES256 against the provider's JWKS, issuer, audience, expiry, nonce).

use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::config::OidcConfig;

/// What the provider publishes at `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Why a sign-on was refused. The detail goes to the audit trail, not to the browser.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider could not be reached or answered badly: {0:#}")]
    Provider(anyhow::Error),
    #[error("the ID token was refused: {0}")]
    Token(String),
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default()
}

pub async fn discover(cfg: &OidcConfig) -> Result<Discovery, OidcError> {
    let url = format!("{}/.well-known/openid-configuration", cfg.issuer.trim_end_matches('/'));
    let d: Discovery = async {
        let resp = http().get(&url).send().await?.error_for_status()?;
        anyhow::Ok(resp.json().await?)
    }
    .await
    .with_context(|| format!("discovery at {url}"))
    .map_err(OidcError::Provider)?;
    if d.issuer.trim_end_matches('/') != cfg.issuer.trim_end_matches('/') {
        return Err(OidcError::Provider(anyhow::anyhow!("the provider calls itself {:?}", d.issuer)));
    }
    Ok(d)
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// A login in progress: kept server-side until the callback.
#[derive(Debug, Clone)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Pending {
    pub fn new() -> Self {
        Self { state: random(), nonce: random(), verifier: random() }
    }
}

impl Default for Pending {
    fn default() -> Self {
        Self::new()
    }
}

pub fn authorize_url(d: &Discovery, cfg: &OidcConfig, p: &Pending) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(&d.authorization_endpoint).context("authorization_endpoint")?;
    let challenge = B64.encode(Sha256::digest(p.verifier.as_bytes()));
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &cfg.client_id)
        .append_pair("redirect_uri", &cfg.redirect_url)
        .append_pair("scope", "openid profile email")
        .append_pair("state", &p.state)
        .append_pair("nonce", &p.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// Exchanges the code for tokens and returns the ID token's checked claims.
pub async fn complete(
    d: &Discovery,
    cfg: &OidcConfig,
    code: &str,
    p: &Pending,
    now: Millis,
) -> Result<Value, OidcError> {
    let client = http();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", cfg.redirect_url.as_str()),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.expose()),
        ("code_verifier", p.verifier.as_str()),
    ];
    let tokens: Value = async {
        let resp = client.post(&d.token_endpoint).form(&form).send().await?.error_for_status()?;
        anyhow::Ok(resp.json().await?)
    }
    .await
    .context("token endpoint")
    .map_err(OidcError::Provider)?;
    let id_token = tokens["id_token"].as_str().ok_or_else(|| OidcError::Token("no id_token in the answer".into()))?;
    let jwks: Value = async {
        let resp = client.get(&d.jwks_uri).send().await?.error_for_status()?;
        anyhow::Ok(resp.json().await?)
    }
    .await
    .context("jwks_uri")
    .map_err(OidcError::Provider)?;
    check_id_token(id_token, &jwks, &d.issuer, &cfg.client_id, &p.nonce, now).map_err(OidcError::Token)
}

fn b64(part: &str) -> Result<Vec<u8>, String> {
    B64.decode(part.trim_end_matches('=')).map_err(|_| "not base64url".to_string())
}

/// Verifies a compact JWS ID token and its claims; returns the claims.
pub fn check_id_token(
    token: &str,
    jwks: &Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: Millis,
) -> Result<Value, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a compact JWS".into());
    };
    let header: Value = serde_json::from_slice(&b64(h)?).map_err(|_| "header is not JSON")?;
    let claims: Value = serde_json::from_slice(&b64(c)?).map_err(|_| "claims are not JSON")?;
    let signature = b64(s)?;
    let alg = header["alg"].as_str().unwrap_or_default();
    let kid = header["kid"].as_str();
    let keys = jwks["keys"].as_array().ok_or("the JWKS has no keys")?;
    let key = keys
        .iter()
        .find(|k| kid.is_none_or(|kid| k["kid"].as_str() == Some(kid)))
        .ok_or_else(|| format!("no key {kid:?} in the JWKS"))?;
    verify_signature(alg, key, format!("{h}.{c}").as_bytes(), &signature)?;

    if claims["iss"].as_str() != Some(issuer) {
        return Err(format!("issuer {} is not {issuer}", claims["iss"]));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(a) => a.iter().any(|v| v.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err("the token is for another client".into());
    }
    let now_s = now / 1000;
    // A minute of leeway for clock skew.
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    if exp + 60 < now_s {
        return Err("the token has expired".into());
    }
    if claims["iat"].as_i64().is_some_and(|iat| iat > now_s + 60) {
        return Err("the token was issued in the future".into());
    }
    if claims["nonce"].as_str() != Some(nonce) {
        return Err("the nonce does not match this login".into());
    }
    Ok(claims)
}

fn verify_signature(alg: &str, key: &Value, message: &[u8], signature: &[u8]) -> Result<(), String> {
    use ring::signature as sig;
    let field = |name: &str| key[name].as_str().ok_or_else(|| format!("the key has no {name}")).and_then(b64);
    let ok = match (alg, key["kty"].as_str()) {
        ("RS256", Some("RSA")) => sig::RsaPublicKeyComponents { n: field("n")?, e: field("e")? }
            .verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok(),
        ("ES256", Some("EC")) if key["crv"].as_str() == Some("P-256") => {
            let mut point = vec![4u8];
            point.extend(field("x")?);
            point.extend(field("y")?);
            sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
        }
        _ => return Err(format!("unsupported algorithm {alg:?} for this key")),
    };
    if ok { Ok(()) } else { Err("bad signature".into()) }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    fn signer() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let point = key.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..])});
        (key, json!({ "keys": [jwk] }))
    }

    fn sign(key: &EcdsaKeyPair, claims: &Value) -> String {
        let head = B64.encode(json!({"alg": "ES256", "kid": "k1"}).to_string());
        let body = B64.encode(claims.to_string());
        let sig = key.sign(&SystemRandom::new(), format!("{head}.{body}").as_bytes()).unwrap();
        format!("{head}.{body}.{}", B64.encode(sig.as_ref()))
    }

    #[test]
    fn id_tokens_are_checked() {
        let (key, jwks) = signer();
        let good =
            json!({"iss": "https://idp", "aud": "dictaflow", "exp": 2000, "iat": 1000, "nonce": "n1", "sub": "x"});
        let now = 1_500_000;
        let check = |t: &str| check_id_token(t, &jwks, "https://idp", "dictaflow", "n1", now);
        assert_eq!(check(&sign(&key, &good)).unwrap()["sub"], "x");
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            sign(&key, &c)
        };
        assert!(check(&with("iss", json!("https://evil"))).is_err());
        assert!(check(&with("aud", json!("other"))).is_err());
        assert!(check(&with("aud", json!(["other", "dictaflow"]))).is_ok());
        assert!(check(&with("exp", json!(1400))).unwrap_err().contains("expired"));
        assert!(check(&with("nonce", json!("n2"))).unwrap_err().contains("nonce"));
        // Another key's signature, or a payload changed after signing, is refused.
        let (other, _) = signer();
        assert_eq!(check(&sign(&other, &good)).unwrap_err(), "bad signature");
        let token = sign(&key, &good);
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(with("sub", json!("admin")).split('.').nth(1).map(|p| b64(p).unwrap()).unwrap());
        parts[1] = &forged;
        assert_eq!(check(&parts.join(".")).unwrap_err(), "bad signature");
        assert!(check("a.b").is_err());
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(good.to_string()));
        assert!(check(&none).is_err(), "alg none");
    }

    #[test]
    fn rs256_tokens_verify() {
        use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
        let key = RsaKeyPair::from_pkcs8(include_bytes!("../../tests/fixtures/oidc/rsa2048.pk8")).unwrap();
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
        let jwks =
            json!({"keys": [{"kty": "RSA", "kid": "r1", "n": B64.encode(&public.n), "e": B64.encode(&public.e)}]});
        let claims = json!({"iss": "https://idp", "aud": "dictaflow", "exp": 2000, "nonce": "n1"});
        let sign = |alg: &str, claims: &Value| {
            let signing_input = format!(
                "{}.{}",
                B64.encode(json!({"alg": alg, "kid": "r1"}).to_string()),
                B64.encode(claims.to_string())
            );
            let mut sig = vec![0; key.public().modulus_len()];
            key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut sig).unwrap();
            format!("{signing_input}.{}", B64.encode(sig))
        };
        let check = |t: &str| check_id_token(t, &jwks, "https://idp", "dictaflow", "n1", 1_500_000);
        assert!(check(&sign("RS256", &claims)).is_ok());
        let mut other = claims.clone();
        other["aud"] = json!("x");
        let forged = sign("RS256", &other).replace(&B64.encode(other.to_string()), &B64.encode(claims.to_string()));
        assert_eq!(check(&forged).unwrap_err(), "bad signature");
        assert!(check(&sign("ES256", &claims)).unwrap_err().contains("unsupported"), "alg must fit the key");
    }
}
