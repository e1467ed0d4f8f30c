//! OpenID Connect single sign-on, the relying party, on the `openidconnect` crate: provider
//! discovery and JWKS (cached; fetched again once when a token names an unknown key), the
//! authorization URL (state, nonce, PKCE S256), the code exchange, and the ID token checks
//! (asymmetric signature, issuer, audience, `azp`, expiry with clock-skew tolerance, nonce).

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IdTokenClaims, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::clock::Millis;
use crate::config::OidcConfig;

/// Discovery and keys are read again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Each provider request gives up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Claims beyond the standard ones (the configured username claim may be one of them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OtherClaims(pub serde_json::Map<String, Value>);

impl AdditionalClaims for OtherClaims {}

type IdToken =
    openidconnect::IdToken<OtherClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
pub type Claims = IdTokenClaims<OtherClaims, CoreGenderClaim>;

/// Why a sign-on was refused. The detail goes to the audit trail, not to the browser.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider could not be reached or answered badly: {0:#}")]
    Provider(anyhow::Error),
    #[error("the provider refused the code: {0}")]
    Grant(String),
    #[error("the ID token was refused: {0}")]
    Token(String),
}

fn provider_error(e: impl Into<anyhow::Error>) -> OidcError {
    OidcError::Provider(e.into())
}

/// An HTTP client that follows no redirects (the provider's URLs are used as published).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

struct Cached {
    issuer: String,
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// The provider's discovery document and keys, shared by every request of the process.
#[derive(Clone, Default)]
pub struct ProviderCache(Arc<Mutex<Option<Cached>>>);

impl std::fmt::Debug for ProviderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderCache")
    }
}

impl ProviderCache {
    /// The provider's metadata, from the cache while fresh.
    pub async fn metadata(&self, cfg: &OidcConfig) -> Result<CoreProviderMetadata, OidcError> {
        let mut slot = self.0.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.issuer == cfg.issuer && c.fetched.elapsed() < METADATA_TTL) {
            return Ok(c.metadata.clone());
        }
        let issuer = IssuerUrl::new(cfg.issuer.clone()).map_err(provider_error)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http())
            .await
            .map_err(|e| provider_error(anyhow::Error::new(e).context(format!("discovery at {}", cfg.issuer))))?;
        *slot = Some(Cached { issuer: cfg.issuer.clone(), metadata: metadata.clone(), fetched: Instant::now() });
        Ok(metadata)
    }

    /// Fetches the provider's keys again (after a token named a key not in them).
    async fn refresh_keys(&self, cfg: &OidcConfig) -> Result<CoreProviderMetadata, OidcError> {
        let mut metadata = self.metadata(cfg).await?;
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &http())
            .await
            .map_err(|e| provider_error(anyhow::Error::new(e).context("jwks_uri")))?;
        metadata = metadata.set_jwks(jwks);
        let mut slot = self.0.lock().await;
        if let Some(c) = slot.as_mut().filter(|c| c.issuer == cfg.issuer) {
            c.metadata = metadata.clone();
        }
        Ok(metadata)
    }
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
        let (_, verifier) = PkceCodeChallenge::new_random_sha256();
        Self {
            state: CsrfToken::new_random().secret().clone(),
            nonce: Nonce::new_random().secret().clone(),
            verifier: verifier.secret().clone(),
        }
    }
}

impl Default for Pending {
    fn default() -> Self {
        Self::new()
    }
}

fn client(
    metadata: &CoreProviderMetadata,
    cfg: &OidcConfig,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    OidcError,
> {
    let redirect = RedirectUrl::new(cfg.redirect_url.clone()).map_err(provider_error)?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.expose().to_string())),
    )
    .set_redirect_uri(redirect)
    // client_secret_post, as registered with the provider.
    .set_auth_type(AuthType::RequestBody))
}

pub fn authorize_url(metadata: &CoreProviderMetadata, cfg: &OidcConfig, p: &Pending) -> Result<String, OidcError> {
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(p.verifier.clone()));
    let (state, nonce) = (p.state.clone(), p.nonce.clone());
    let (url, _, _) = client(metadata, cfg)?
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(url.into())
}

/// What the ID token checks need besides the keys.
pub struct Expect<'a> {
    pub cfg: &'a OidcConfig,
    pub nonce: &'a str,
    pub now: Millis,
}

/// Exchanges the code for tokens and returns the ID token's checked claims. When the
/// token is signed with a key the cached JWKS lacks, the keys are fetched again, once.
pub async fn complete(
    cache: &ProviderCache,
    cfg: &OidcConfig,
    code: &str,
    p: &Pending,
    now: Millis,
) -> Result<Claims, OidcError> {
    let metadata = cache.metadata(cfg).await?;
    let client = client(&metadata, cfg)?;
    let exchange = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(provider_error)?
        .set_pkce_verifier(PkceCodeVerifier::new(p.verifier.clone()));
    let tokens = match exchange.request_async(&http()).await {
        Ok(t) => t,
        Err(RequestTokenError::ServerResponse(e)) => return Err(OidcError::Grant(e.to_string())),
        Err(e) => return Err(provider_error(anyhow::Error::new(e).context("token endpoint"))),
    };
    let raw = tokens.id_token().ok_or_else(|| OidcError::Token("no id_token in the answer".into()))?.to_string();
    let expect = Expect { cfg, nonce: &p.nonce, now };
    match check_id_token(&raw, metadata.issuer(), metadata.jwks(), &expect) {
        Err(TokenCheck::UnknownKey) => {
            let metadata = cache.refresh_keys(cfg).await?;
            check_id_token(&raw, metadata.issuer(), metadata.jwks(), &expect)
                .map_err(|e| OidcError::Token(e.to_string()))
        }
        other => other.map_err(|e| OidcError::Token(e.to_string())),
    }
}

/// An ID token refusal; `UnknownKey` is worth fetching the keys again for.
#[derive(Debug, thiserror::Error)]
pub enum TokenCheck {
    #[error("bad signature: no published key matches the token's key id")]
    UnknownKey,
    #[error("{0}")]
    Refused(String),
}

/// The signature algorithms accepted: asymmetric only, so that only the provider's key
/// signs (never the client secret, which this server holds too).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

fn utc(ms: Millis) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Verifies a compact JWS ID token and its claims against the provider's keys.
pub fn check_id_token(
    token: &str,
    issuer: &IssuerUrl,
    jwks: &CoreJsonWebKeySet,
    expect: &Expect<'_>,
) -> Result<Claims, TokenCheck> {
    let refused = |m: String| TokenCheck::Refused(m);
    let token: IdToken = token.parse().map_err(|e| refused(format!("not an ID token: {e}")))?;
    let cfg = expect.cfg;
    let skew_ms = i64::try_from(cfg.clock_skew_secs).unwrap_or(i64::MAX / 2).saturating_mul(1000);
    let (now, trusted) = (expect.now, cfg.trusted_audiences.clone());
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(cfg.client_id.clone()),
        ClientSecret::new(cfg.client_secret.expose().to_string()),
        issuer.clone(),
        jwks.clone(),
    )
    .set_allowed_algs(ALGORITHMS)
    .set_other_audience_verifier_fn(move |aud| trusted.iter().any(|t| t == aud.as_str()))
    // Expired only once `exp` lies more than the tolerance in the past.
    .set_time_fn(move || utc(now.saturating_sub(skew_ms)))
    .set_issue_time_verifier_fn(move |iat| {
        if iat > utc(now.saturating_add(skew_ms)) { Err(format!("issued in the future ({iat})")) } else { Ok(()) }
    });
    let claims = token.into_claims(&verifier, &Nonce::new(expect.nonce.to_string())).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
            TokenCheck::UnknownKey
        }
        ClaimsVerificationError::SignatureVerification(e) => refused(format!("bad signature: {e}")),
        ClaimsVerificationError::InvalidAudience(m) => refused(format!("the token is for another client: {m}")),
        ClaimsVerificationError::Expired(m) => refused(format!("the token has expired or is not yet valid: {m}")),
        ClaimsVerificationError::InvalidNonce(_) => refused("the nonce does not match this login".into()),
        e => refused(e.to_string()),
    })?;
    check_authorized_party(&claims, &cfg.client_id).map_err(refused)?;
    Ok(claims)
}

/// `azp`: when present it must name this client, and a token for several audiences must
/// carry it (OpenID Connect Core 3.1.3.7, steps 4 and 5).
fn check_authorized_party(claims: &Claims, client_id: &str) -> Result<(), String> {
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != client_id => {
            Err(format!("the token is for another client: azp is {:?}", azp.as_str()))
        }
        None if claims.audiences().len() > 1 => {
            Err("the token is for another client: several audiences and no azp".into())
        }
        _ => Ok(()),
    }
}

/// A claim's text value by name (standard or not), e.g. `preferred_username`.
pub fn claim_text(claims: &Claims, name: &str) -> Option<String> {
    let json = serde_json::to_value(claims).ok()?;
    json.get(name).and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use openidconnect::core::{CoreHmacKey, CoreRsaPrivateSigningKey};
    use openidconnect::{EndUserUsername, JsonWebKeyId, PrivateSigningKey, SubjectIdentifier};
    use serde_json::json;

    use super::*;
    use crate::config::Secret;

    const NOW: Millis = 1_800_000_000_000;
    const ISSUER: &str = "https://idp.example";

    fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
    }

    fn key_a() -> CoreRsaPrivateSigningKey {
        key(include_str!("../../tests/fixtures/oidc/rsa-a.pem"), "a")
    }

    fn jwks() -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![key_a().as_verification_key()])
    }

    fn cfg() -> OidcConfig {
        OidcConfig {
            issuer: ISSUER.into(),
            client_id: "dictaflow".into(),
            client_secret: Secret::new("s3cret"),
            ..OidcConfig::default()
        }
    }

    /// Claims a good token has; `change` edits them before signing.
    fn claims(change: impl FnOnce(&mut Value)) -> Claims {
        let mut c = json!({"iss": ISSUER, "aud": "dictaflow", "sub": "u-1", "preferred_username": "dr.patel",
            "employee_no": "E7", "nonce": "n1", "iat": NOW / 1000 - 10, "exp": NOW / 1000 + 300});
        change(&mut c);
        serde_json::from_value(c).unwrap()
    }

    fn sign(claims: Claims, key: &CoreRsaPrivateSigningKey) -> String {
        IdToken::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap().to_string()
    }

    fn check_with(token: &str, cfg: &OidcConfig) -> Result<Claims, String> {
        let expect = Expect { cfg, nonce: "n1", now: NOW };
        check_id_token(token, &IssuerUrl::new(ISSUER.into()).unwrap(), &jwks(), &expect).map_err(|e| e.to_string())
    }

    fn check(token: &str) -> Result<Claims, String> {
        check_with(token, &cfg())
    }

    fn refused(change: impl FnOnce(&mut Value)) -> String {
        check(&sign(claims(change), &key_a())).unwrap_err()
    }

    #[test]
    fn a_good_token_passes_and_its_claims_are_read() {
        let claims = check(&sign(claims(|_| {}), &key_a())).unwrap();
        assert_eq!(claims.subject(), &SubjectIdentifier::new("u-1".into()));
        assert_eq!(claims.preferred_username(), Some(&EndUserUsername::new("dr.patel".into())));
        assert_eq!(claim_text(&claims, "preferred_username").as_deref(), Some("dr.patel"));
        assert_eq!(claim_text(&claims, "employee_no").as_deref(), Some("E7"), "a non-standard claim");
        assert_eq!(claim_text(&claims, "missing"), None);
    }

    #[test]
    fn issuer_audience_nonce_and_times_are_checked() {
        assert!(refused(|c| c["iss"] = json!("https://evil.example")).contains("issuer"));
        assert!(refused(|c| c["aud"] = json!("other")).contains("another client"));
        assert!(refused(|c| c["nonce"] = json!("n2")).contains("nonce"));
        assert!(refused(|c| c["exp"] = json!(NOW / 1000 - 61)).contains("expired"), "beyond the skew");
        assert!(check(&sign(claims(|c| c["exp"] = json!(NOW / 1000 - 30)), &key_a())).is_ok(), "within the skew");
        assert!(refused(|c| c["iat"] = json!(NOW / 1000 + 120)).contains("future"));
        assert!(check(&sign(claims(|c| c["iat"] = json!(NOW / 1000 + 30)), &key_a())).is_ok(), "within the skew");
        let strict = OidcConfig { clock_skew_secs: 0, ..cfg() };
        let token = sign(claims(|c| c["exp"] = json!(NOW / 1000 - 30)), &key_a());
        assert!(check_with(&token, &strict).unwrap_err().contains("expired"));
    }

    #[test]
    fn several_audiences_need_trust_and_azp() {
        let both = |c: &mut Value| c["aud"] = json!(["dictaflow", "reports-api"]);
        assert!(refused(both).contains("not a trusted audience"), "untrusted extra audience");
        let trusting = OidcConfig { trusted_audiences: vec!["reports-api".into()], ..cfg() };
        let no_azp = sign(claims(both), &key_a());
        assert!(check_with(&no_azp, &trusting).unwrap_err().contains("no azp"));
        let azp_us = sign(
            claims(|c| {
                both(c);
                c["azp"] = json!("dictaflow");
            }),
            &key_a(),
        );
        assert!(check_with(&azp_us, &trusting).is_ok());
        let azp_them = sign(
            claims(|c| {
                both(c);
                c["azp"] = json!("reports-api");
            }),
            &key_a(),
        );
        assert!(check_with(&azp_them, &trusting).unwrap_err().contains("azp"));
        // A single audience with a foreign azp is refused as well.
        assert!(refused(|c| c["azp"] = json!("someone-else")).contains("another client"));
    }

    #[test]
    fn only_the_published_keys_sign() {
        let good = claims(|_| {});
        let foreign = key(include_str!("../../tests/fixtures/oidc/rsa-b.pem"), "a");
        assert!(check(&sign(good.clone(), &foreign)).unwrap_err().contains("bad signature"), "same kid, other key");
        let unknown = key(include_str!("../../tests/fixtures/oidc/rsa-b.pem"), "b");
        assert!(matches!(
            check_id_token(
                &sign(good.clone(), &unknown),
                &IssuerUrl::new(ISSUER.into()).unwrap(),
                &jwks(),
                &Expect { cfg: &cfg(), nonce: "n1", now: NOW }
            ),
            Err(TokenCheck::UnknownKey)
        ));
        // The client secret never signs: an HS256 token made with it is refused.
        let hs =
            IdToken::new(good.clone(), &CoreHmacKey::new("s3cret"), CoreJwsSigningAlgorithm::HmacSha256, None, None)
                .unwrap()
                .to_string();
        assert!(check(&hs).unwrap_err().contains("bad signature"));
        // Unsigned, tampered and malformed tokens.
        let token = sign(good, &key_a());
        let parts: Vec<&str> = token.split('.').collect();
        let unsigned = format!("{}.{}.", base64_url(r#"{"alg":"none"}"#), parts[1]);
        assert!(check(&unsigned).is_err(), "alg none");
        let forged_body = base64_url(
            &json!({"iss": ISSUER, "aud": "dictaflow", "sub": "admin", "nonce": "n1",
            "iat": NOW / 1000, "exp": NOW / 1000 + 300})
            .to_string(),
        );
        let forged = format!("{}.{forged_body}.{}", parts[0], parts[2]);
        assert!(check(&forged).unwrap_err().contains("bad signature"));
        assert!(check("a.b").is_err());
    }

    fn base64_url(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }
}
