//! Authentication and authorisation: who a connection is, and what it may
//! see.
//!
//! A token is a JWT, verified against one key source: an HS256/384/512
//! shared secret, a public key in a PEM file (RSA, EC or Ed25519), or a JWKS
//! (a file, or a URL fetched and refreshed in the background). Each source
//! admits only the algorithms of its own key family, so a token signed with
//! the public key used as an HMAC secret ("algorithm confusion") or with
//! `alg: none` never verifies. `exp` is required; `nbf`, `iss` and `aud` are
//! checked when configured. `sub` names the user.
//!
//! Key rotation: a token whose `kid` no loaded key has makes the gateway
//! load its JWKS again at once (at most once per [`UNKNOWN_KID_REFRESH`],
//! so tokens with made-up `kid`s cannot turn it into a flood of requests to
//! the identity provider), then verify the token against the new keys. A
//! key the identity provider has just started signing with works on the
//! first token, not after the next periodic refresh.
//!
//! What a principal sees is [`Principal::sees`]: an event's `tenant` (when
//! it has one) must be the token's `tenant` claim, its `user_id` (when it has
//! one) must be the token's `sub`, unless the token has the `admin` role.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::event::Scope;
use crate::revocation::RevocationList;

/// The role that sees every event and may publish anywhere.
pub const ADMIN_ROLE: &str = "admin";
/// The role that may publish events over HTTP.
pub const PUBLISHER_ROLE: &str = "publisher";
/// Shortest HMAC secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Least time between two JWKS loads caused by tokens with an unknown `kid`.
pub const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(10);
/// Longest wait for one JWKS load caused by a token with an unknown `kid`
/// (the token waits for it).
const UNKNOWN_KID_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Who is on the other end of a connection or request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub tenant: Option<String>,
    pub roles: Vec<String>,
    /// Unix seconds; `None` for the anonymous principal of a gateway
    /// running without authentication.
    pub expires_at: Option<i64>,
    /// The token's `jti` claim, when it has one (what revokes one token).
    pub token_id: Option<String>,
}

impl Principal {
    /// Everyone, when authentication is off (loopback only): sees all.
    pub fn anonymous() -> Principal {
        Principal {
            sub: "anonymous".into(),
            tenant: None,
            roles: vec![ADMIN_ROLE.into()],
            expires_at: None,
            token_id: None,
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(ADMIN_ROLE)
    }

    /// Whether this principal may see an event of `scope`.
    pub fn sees(&self, scope: &Scope) -> bool {
        if self.is_admin() || scope.is_public() {
            return true;
        }
        let tenant_ok = scope
            .tenant
            .as_deref()
            .is_none_or(|tenant| self.tenant.as_deref() == Some(tenant));
        let user_ok = scope.user_id.as_deref().is_none_or(|user| user == self.sub);
        tenant_ok && user_ok
    }

    /// The key under which what this principal sees can be cached: two
    /// principals with the same view see exactly the same events.
    pub fn view(&self) -> View {
        if self.is_admin() {
            View::Everything
        } else {
            View::Scoped {
                tenant: self.tenant.clone(),
                sub: self.sub.clone(),
            }
        }
    }
}

/// What a principal sees, as a cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum View {
    Everything,
    Scoped { tenant: Option<String>, sub: String },
}

/// Why a token was refused. The message is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send a token")]
    Missing,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("signing keys are not loaded yet")]
    KeysUnavailable,
    #[error("too many failed authentications from this address: try again later")]
    Throttled,
}

/// The JWT claims the gateway reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The roles the token grants (`["viewer","publisher"]`). No other
    /// claim grants a role: a `role` claim, like every claim not read here,
    /// is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id: what a revocation list names to revoke this token alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Where verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// An HMAC secret (HS256, HS384, HS512).
    Secret(Vec<u8>),
    /// A public key in a PEM file: RSA (RS*, PS*), EC (ES256, ES384) or
    /// Ed25519 (EdDSA).
    PublicKeyPem(PathBuf),
    /// A JSON Web Key Set in a file (read again on every refresh).
    JwksFile(PathBuf),
    /// A JSON Web Key Set at a URL, fetched and refreshed.
    JwksUrl(String),
}

/// Everything verification needs.
#[derive(Clone)]
pub struct AuthConfig {
    pub source: KeySource,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// How often a JWKS is fetched again.
    pub jwks_refresh: Duration,
    /// Tokens whose `exp` is further away than this are refused
    /// (`--max-token-lifetime`); `None`: no limit.
    pub max_lifetime: Option<Duration>,
}

/// Keys ready to verify with, each with the algorithms it admits.
struct KeyRing {
    /// Keys with a `kid`, and the keys without (tried in order).
    by_kid: Vec<(Option<String>, DecodingKey, Vec<Algorithm>)>,
}

/// Verifies tokens. Cheap to share; a JWKS refreshes in place.
pub struct Verifier {
    config: AuthConfig,
    keys: RwLock<Option<Arc<KeyRing>>>,
    /// Fetches the JWKS URL (only that key source has one).
    http: Option<reqwest::Client>,
    /// When a token with an unknown `kid` last caused a JWKS load; held
    /// while that load runs, so concurrent such tokens wait for one load.
    last_unknown_kid_load: tokio::sync::Mutex<Option<tokio::time::Instant>>,
    /// Tokens and users revoked before their tokens expire.
    revocations: Option<Arc<RevocationList>>,
}

/// Why [`Verifier::check`] refused a token: the error for the client, and
/// whether the token named a `kid` that no loaded key has.
struct Refusal {
    error: AuthError,
    unknown_kid: bool,
}

impl From<AuthError> for Refusal {
    fn from(error: AuthError) -> Refusal {
        Refusal {
            error,
            unknown_kid: false,
        }
    }
}

impl std::fmt::Debug for Verifier {
    /// Names the key source; never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.config.source {
            KeySource::Secret(_) => "HMAC secret".to_owned(),
            KeySource::PublicKeyPem(path) => format!("public key {}", path.display()),
            KeySource::JwksFile(path) => format!("JWKS file {}", path.display()),
            KeySource::JwksUrl(url) => format!("JWKS {url}"),
        };
        f.debug_struct("Verifier")
            .field("source", &source)
            .finish_non_exhaustive()
    }
}

const HMAC: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
const RSA: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];
const EC: [Algorithm; 2] = [Algorithm::ES256, Algorithm::ES384];
const ED: [Algorithm; 1] = [Algorithm::EdDSA];

impl Verifier {
    /// Loads the keys (except a JWKS URL, which [`Verifier::refresh_loop`]
    /// fetches). Errors name what is wrong with the key material.
    pub fn new(config: AuthConfig) -> Result<Verifier, String> {
        let keys = match &config.source {
            KeySource::Secret(secret) => {
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(format!(
                        "the JWT secret is {} bytes; at least {MIN_SECRET_BYTES} are required",
                        secret.len()
                    ));
                }
                let key = DecodingKey::from_secret(secret).map_err(|err| err.to_string())?;
                Some(KeyRing {
                    by_kid: vec![(None, key, HMAC.to_vec())],
                })
            }
            KeySource::PublicKeyPem(path) => {
                let pem = std::fs::read(path)
                    .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                let (key, algorithms) = pem_key(&pem).ok_or_else(|| {
                    format!("{} holds no RSA, EC or Ed25519 public key", path.display())
                })?;
                Some(KeyRing {
                    by_kid: vec![(None, key, algorithms)],
                })
            }
            KeySource::JwksFile(path) => Some(read_jwks_file(path)?),
            KeySource::JwksUrl(_) => None,
        };
        // Built only when there is a URL to fetch: building one reads the
        // system's certificate store.
        let http = match &config.source {
            KeySource::JwksUrl(_) => Some(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|err| format!("cannot build an HTTP client: {err}"))?,
            ),
            _ => None,
        };
        Ok(Verifier {
            config,
            keys: RwLock::new(keys.map(Arc::new)),
            http,
            last_unknown_kid_load: tokio::sync::Mutex::new(None),
            revocations: None,
        })
    }

    /// Refuses the tokens and users on `list` ([`crate::revocation`]).
    pub fn with_revocations(mut self, list: Arc<RevocationList>) -> Verifier {
        self.revocations = Some(list);
        self
    }

    /// The revocation list, if one is configured.
    pub fn revocations(&self) -> Option<&Arc<RevocationList>> {
        self.revocations.as_ref()
    }

    /// True when `principal` (verified earlier) has been revoked since.
    pub fn is_revoked(&self, principal: &Principal) -> bool {
        self.revocations
            .as_ref()
            .is_some_and(|list| list.is_revoked(&principal.sub, principal.token_id.as_deref()))
    }

    /// Verifies a token and returns its principal. A token whose `kid` no
    /// loaded key has first makes a JWKS load again (see the module docs).
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        match self.check(token) {
            // Boxed: the reload (an HTTP request, a file read) is a large
            // future, and every connection task would carry its space for
            // a renewal that seldom comes.
            Err(refusal) if refusal.unknown_kid && Box::pin(self.load_for_unknown_kid()).await => {
                self.verify_loaded(token)
            }
            result => result.map_err(|refusal| refusal.error),
        }
    }

    /// Verifies a token against the keys loaded now.
    pub fn verify_loaded(&self, token: &str) -> Result<Principal, AuthError> {
        self.check(token).map_err(|refusal| refusal.error)
    }

    /// Loads a JWKS again for a token with an unknown `kid`, unless one was
    /// loaded for that reason less than [`UNKNOWN_KID_REFRESH`] ago. True
    /// when the keys may have changed since the token was checked.
    async fn load_for_unknown_kid(&self) -> bool {
        if !matches!(
            self.config.source,
            KeySource::JwksUrl(_) | KeySource::JwksFile(_)
        ) {
            return false;
        }
        let mut last = self.last_unknown_kid_load.lock().await;
        if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFRESH) {
            // Loaded a moment ago, maybe while this token waited for the
            // lock: check against what that load brought.
            return true;
        }
        *last = Some(tokio::time::Instant::now());
        match tokio::time::timeout(UNKNOWN_KID_FETCH_TIMEOUT, self.load_jwks()).await {
            Ok(Ok(ring)) => {
                tracing::info!(
                    keys = ring.by_kid.len(),
                    "JWKS loaded again for a token with an unknown kid"
                );
                *self.keys.write() = Some(Arc::new(ring));
                true
            }
            Ok(Err(err)) => {
                tracing::warn!("cannot load the JWKS for a token with an unknown kid: {err}");
                false
            }
            Err(_) => {
                tracing::warn!(
                    "cannot load the JWKS for a token with an unknown kid: no answer within {UNKNOWN_KID_FETCH_TIMEOUT:?}"
                );
                false
            }
        }
    }

    /// Reads or fetches the configured JWKS.
    async fn load_jwks(&self) -> Result<KeyRing, String> {
        match (&self.config.source, &self.http) {
            (KeySource::JwksUrl(url), Some(http)) => fetch_jwks(http, url).await,
            (KeySource::JwksFile(path), _) => read_jwks_file(path),
            _ => Err("the key source is not a JWKS".into()),
        }
    }

    /// Verifies a token against the loaded keys.
    fn check(&self, token: &str) -> Result<Principal, Refusal> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing.into());
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| AuthError::Invalid(err.to_string()))?;
        let keys = self.keys.read().clone().ok_or(AuthError::KeysUnavailable)?;
        let mut candidates = keys
            .by_kid
            .iter()
            .filter(|(kid, _, _)| kid.is_none() || header.kid.is_none() || *kid == header.kid)
            .peekable();
        if candidates.peek().is_none() {
            return Err(Refusal {
                error: AuthError::Invalid("no key matches the token's kid".into()),
                unknown_kid: true,
            });
        }
        let mut last_error = AuthError::Invalid("no key matches the token's kid".into());
        for (_, key, algorithms) in candidates {
            if !algorithms.contains(&header.alg) {
                last_error = AuthError::Invalid(format!(
                    "algorithm {:?} is not accepted for this key",
                    header.alg
                ));
                continue;
            }
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation(header.alg)) {
                Ok(data) => {
                    let principal = principal(data.claims, self.config.max_lifetime)?;
                    if self.is_revoked(&principal) {
                        return Err(AuthError::Invalid("token revoked".into()).into());
                    }
                    return Ok(principal);
                }
                Err(err) if *err.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    return Err(AuthError::Expired.into());
                }
                Err(err) => last_error = decode_error(&err),
            }
        }
        Err(last_error.into())
    }

    /// What a token signed with `alg` must satisfy.
    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.config.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &self.config.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        validation
    }

    /// Keeps a JWKS (URL or file) fresh until `shutdown`. Does nothing for
    /// the other key sources.
    pub async fn refresh_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let from_url = match &self.config.source {
            KeySource::JwksUrl(_) => true,
            KeySource::JwksFile(_) => false,
            _ => return,
        };
        let mut first = true;
        loop {
            if !first {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(self.config.jwks_refresh) => {}
                }
            }
            first = false;
            match self.load_jwks().await {
                Ok(ring) => {
                    tracing::debug!(keys = ring.by_kid.len(), "JWKS loaded");
                    *self.keys.write() = Some(Arc::new(ring));
                }
                // Keep the keys we have; try again at the next refresh.
                Err(err) => tracing::warn!("cannot refresh the JWKS: {err}"),
            }
            if from_url && self.keys.read().is_none() {
                // Not loaded at all yet: retry soon rather than at the next refresh.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
                first = true;
            }
        }
    }
}

/// Why a token did not decode, in words safe to show the client.
fn decode_error(err: &jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::ImmatureSignature => AuthError::Invalid("token not valid yet (nbf)".into()),
        ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer".into()),
        ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience".into()),
        ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
        _ => AuthError::Invalid(err.to_string()),
    }
}

/// The principal of a verified token's claims, or why the claims cannot
/// name one: an empty `sub` or `tenant`, or an `exp` further away than
/// `max_lifetime` allows.
fn principal(claims: Claims, max_lifetime: Option<Duration>) -> Result<Principal, AuthError> {
    if claims.sub.trim().is_empty() {
        return Err(AuthError::Invalid("`sub` is empty".into()));
    }
    if claims
        .tenant
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        return Err(AuthError::Invalid("`tenant` is empty".into()));
    }
    if let Some(max) = max_lifetime {
        let left_s = claims.exp - clock::now_ms() / 1000;
        if left_s > max.as_secs() as i64 {
            return Err(AuthError::Invalid(format!(
                "the token expires {left_s} s from now, later than the {} s allowed",
                max.as_secs()
            )));
        }
    }
    let mut roles = claims.roles.unwrap_or_default();
    let mut seen = HashSet::new();
    roles.retain(|role| seen.insert(role.clone()));
    Ok(Principal {
        sub: claims.sub,
        tenant: claims.tenant,
        roles,
        expires_at: Some(claims.exp),
        token_id: claims.jti,
    })
}

/// A public key from PEM, and the algorithms of its family.
fn pem_key(pem: &[u8]) -> Option<(DecodingKey, Vec<Algorithm>)> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Some((key, RSA.to_vec()));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Some((key, EC.to_vec()));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Some((key, ED.to_vec()));
    }
    None
}

fn jwks_ring(set: &JwkSet) -> Result<KeyRing, String> {
    let mut by_kid = Vec::new();
    for jwk in &set.keys {
        let family: &[Algorithm] = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => &RSA,
            AlgorithmParameters::EllipticCurve(_) => &EC,
            AlgorithmParameters::OctetKeyPair(_) => &ED,
            // Symmetric keys have no place in a public key set.
            _ => continue,
        };
        let algorithms = match jwk.common.key_algorithm.and_then(key_algorithm) {
            Some(alg) if family.contains(&alg) => vec![alg],
            Some(_) => continue,
            None => family.to_vec(),
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        by_kid.push((jwk.common.key_id.clone(), key, algorithms));
    }
    if by_kid.is_empty() {
        return Err("the JWKS has no usable public key".into());
    }
    Ok(KeyRing { by_kid })
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

fn read_jwks_file(path: &PathBuf) -> Result<KeyRing, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .map_err(|err| format!("{} is not a JWKS: {err}", path.display()))?;
    jwks_ring(&set)
}

async fn fetch_jwks(client: &reqwest::Client, url: &str) -> Result<KeyRing, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let set: JwkSet = response.json().await.map_err(|err| err.to_string())?;
    jwks_ring(&set)
}

/// Mints an HS256 token, for operators and tests (`tactical-link token`).
pub fn mint_hs256(
    secret: &[u8],
    sub: &str,
    tenant: Option<&str>,
    roles: &[String],
    ttl: Duration,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<String, String> {
    let now = clock::now_ms() / 1000;
    let claims = Claims {
        sub: sub.to_owned(),
        exp: now + ttl.as_secs() as i64,
        tenant: tenant.map(str::to_owned),
        roles: (!roles.is_empty()).then(|| roles.to_vec()),
        iss: issuer.map(str::to_owned),
        aud: audience.map(str::to_owned),
        nbf: None,
        iat: Some(now),
        jti: Some(uuid::Uuid::new_v4().to_string()),
    };
    let key = EncodingKey::from_secret(secret).map_err(|err| err.to_string())?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn verifier(issuer: Option<&str>, audience: Option<&str>) -> Verifier {
        Verifier::new(AuthConfig {
            source: KeySource::Secret(SECRET.to_vec()),
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
            leeway: Duration::from_secs(5),
            jwks_refresh: Duration::from_secs(300),
            max_lifetime: None,
        })
        .unwrap()
    }

    fn token(claims: serde_json::Value, secret: &[u8], alg: Algorithm) -> String {
        let key = EncodingKey::from_secret(secret).unwrap();
        jsonwebtoken::encode(&Header::new(alg), &claims, &key).unwrap()
    }

    fn now() -> i64 {
        clock::now_ms() / 1000
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let roles = vec!["viewer".to_owned(), "publisher".to_owned()];
        let t = mint_hs256(
            SECRET,
            "alice",
            Some("acme"),
            &roles,
            Duration::from_secs(60),
            None,
            None,
        )
        .unwrap();
        let p = verifier(None, None).verify_loaded(&t).unwrap();
        assert_eq!(p.sub, "alice");
        assert_eq!(p.tenant.as_deref(), Some("acme"));
        assert!(p.has_role("publisher") && !p.is_admin());
    }

    #[test]
    fn bad_tokens_are_refused_for_the_right_reason() {
        let v = verifier(Some("issuer-a"), Some("aud-a"));
        let good = serde_json::json!({"sub":"a","exp":now()+60,"iss":"issuer-a","aud":"aud-a"});
        assert!(
            v.verify_loaded(&token(good.clone(), SECRET, Algorithm::HS256))
                .is_ok()
        );
        let expired =
            serde_json::json!({"sub":"a","exp":now()-3600,"iss":"issuer-a","aud":"aud-a"});
        assert_eq!(
            v.verify_loaded(&token(expired, SECRET, Algorithm::HS256)),
            Err(AuthError::Expired)
        );
        let no_exp = serde_json::json!({"sub":"a","iss":"issuer-a","aud":"aud-a"});
        assert!(matches!(
            v.verify_loaded(&token(no_exp, SECRET, Algorithm::HS256)),
            Err(AuthError::Invalid(_))
        ));
        let early = serde_json::json!({"sub":"a","exp":now()+600,"nbf":now()+300,"iss":"issuer-a","aud":"aud-a"});
        assert!(
            matches!(v.verify_loaded(&token(early, SECRET, Algorithm::HS256)), Err(AuthError::Invalid(m)) if m.contains("nbf"))
        );
        let wrong_iss = serde_json::json!({"sub":"a","exp":now()+60,"iss":"other","aud":"aud-a"});
        assert!(
            matches!(v.verify_loaded(&token(wrong_iss, SECRET, Algorithm::HS256)), Err(AuthError::Invalid(m)) if m.contains("issuer"))
        );
        let wrong_aud =
            serde_json::json!({"sub":"a","exp":now()+60,"iss":"issuer-a","aud":"other"});
        assert!(
            matches!(v.verify_loaded(&token(wrong_aud, SECRET, Algorithm::HS256)), Err(AuthError::Invalid(m)) if m.contains("audience"))
        );
        let other_secret = token(
            good.clone(),
            b"another secret that is long enough!!",
            Algorithm::HS256,
        );
        assert!(
            matches!(v.verify_loaded(&other_secret), Err(AuthError::Invalid(m)) if m.contains("signature"))
        );
        assert_eq!(v.verify_loaded(""), Err(AuthError::Missing));
        assert!(v.verify_loaded("not.a.token").is_err());
    }

    #[test]
    fn only_roles_grants_roles_and_unknown_claims_are_ignored() {
        let v = verifier(None, None);
        let sneaky = serde_json::json!({"sub":"a","exp":now()+60,"roles":["viewer"],"role":"admin","admin":true});
        let p = v
            .verify_loaded(&token(sneaky, SECRET, Algorithm::HS256))
            .unwrap();
        assert_eq!(p.roles, ["viewer"]);
        assert!(!p.is_admin(), "`role` grants nothing");
        let role_only = serde_json::json!({"sub":"a","exp":now()+60,"role":"admin"});
        let p = v
            .verify_loaded(&token(role_only, SECRET, Algorithm::HS256))
            .unwrap();
        assert!(p.roles.is_empty());
        let roles_as_text = serde_json::json!({"sub":"a","exp":now()+60,"roles":"admin"});
        assert!(
            v.verify_loaded(&token(roles_as_text, SECRET, Algorithm::HS256))
                .is_err()
        );
    }

    #[test]
    fn an_empty_sub_or_tenant_names_nobody() {
        let v = verifier(None, None);
        for claims in [
            serde_json::json!({"sub":"","exp":now()+60}),
            serde_json::json!({"sub":"  ","exp":now()+60}),
            serde_json::json!({"sub":"a","tenant":"","exp":now()+60}),
        ] {
            let refused = v.verify_loaded(&token(claims.clone(), SECRET, Algorithm::HS256));
            assert!(
                matches!(refused, Err(AuthError::Invalid(m)) if m.contains("empty")),
                "{claims}"
            );
        }
    }

    #[test]
    fn a_token_living_longer_than_allowed_is_refused() {
        let mut v = verifier(None, None);
        v.config.max_lifetime = Some(Duration::from_secs(3600));
        let year = serde_json::json!({"sub":"a","exp":now()+365*86_400});
        assert!(matches!(
            v.verify_loaded(&token(year, SECRET, Algorithm::HS256)),
            Err(AuthError::Invalid(m)) if m.contains("later than")
        ));
        let half_hour = serde_json::json!({"sub":"a","exp":now()+1800});
        assert!(
            v.verify_loaded(&token(half_hour, SECRET, Algorithm::HS256))
                .is_ok()
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = base64_url(format!(r#"{{"sub":"a","exp":{}}}"#, now() + 60).as_bytes());
        let unsigned = format!("{header}.{claims}.");
        assert!(verifier(None, None).verify_loaded(&unsigned).is_err());
    }

    /// Base64url without padding, for hand-made tokens.
    fn base64_url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn short_secrets_are_refused_at_start() {
        let config = AuthConfig {
            source: KeySource::Secret(b"short".to_vec()),
            issuer: None,
            audience: None,
            leeway: Duration::ZERO,
            jwks_refresh: Duration::from_secs(1),
            max_lifetime: None,
        };
        assert!(Verifier::new(config).unwrap_err().contains("at least 32"));
    }

    #[test]
    fn what_a_principal_sees() {
        let scope = |tenant: Option<&str>, user: Option<&str>| Scope {
            tenant: tenant.map(Arc::from),
            user_id: user.map(Arc::from),
        };
        let alice = Principal {
            sub: "alice".into(),
            tenant: Some("acme".into()),
            roles: vec!["viewer".into()],
            expires_at: None,
            token_id: None,
        };
        assert!(alice.sees(&scope(None, None)));
        assert!(alice.sees(&scope(Some("acme"), None)));
        assert!(!alice.sees(&scope(Some("globex"), None)));
        assert!(alice.sees(&scope(None, Some("alice"))));
        assert!(!alice.sees(&scope(None, Some("bob"))));
        assert!(alice.sees(&scope(Some("acme"), Some("alice"))));
        assert!(
            !alice.sees(&scope(Some("acme"), Some("bob"))),
            "both fields must match"
        );
        assert!(!alice.sees(&scope(Some("globex"), Some("alice"))));
        let admin = Principal {
            roles: vec![ADMIN_ROLE.into()],
            ..alice.clone()
        };
        assert!(admin.sees(&scope(Some("globex"), Some("bob"))));
        let no_tenant = Principal {
            tenant: None,
            ..alice
        };
        assert!(
            !no_tenant.sees(&scope(Some("acme"), None)),
            "a token without tenant sees no tenant's events"
        );
    }
}
