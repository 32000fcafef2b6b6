//! HS256 secrets and tokens, minted as an identity provider would: the
//! tests' users and publishers, and the benchmark's clients under `--auth`.

use std::time::Duration;

/// Mints HS256 tokens with one secret (and the `iss`/`aud` a gateway may
/// require).
#[derive(Debug, Clone)]
pub struct Minter {
    secret: Vec<u8>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Minter {
    pub fn new(secret: impl Into<Vec<u8>>) -> Minter {
        Minter {
            secret: secret.into(),
            issuer: None,
            audience: None,
        }
    }

    /// Sets the `iss` claim of every token.
    pub fn issuer(mut self, issuer: &str) -> Minter {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Sets the `aud` claim of every token.
    pub fn audience(mut self, audience: &str) -> Minter {
        self.audience = Some(audience.to_owned());
        self
    }

    /// A token for `sub` (in `tenant`, with `roles`) valid for `ttl`, with
    /// a `jti` of its own.
    pub fn mint(
        &self,
        sub: &str,
        tenant: Option<&str>,
        roles: &[&str],
        ttl: Duration,
    ) -> Result<String, String> {
        let roles: Vec<String> = roles.iter().map(|role| (*role).to_owned()).collect();
        tactical_link::auth::mint_hs256(
            &self.secret,
            sub,
            tenant,
            &roles,
            ttl,
            self.issuer.as_deref(),
            self.audience.as_deref(),
        )
    }
}

/// A fresh secret: 32 random bytes, as 64 hex digits.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_what_was_asked_and_secrets_differ() {
        let secret = random_secret();
        assert_eq!(secret.len(), 64);
        assert_ne!(secret, random_secret());
        let token = Minter::new(secret.as_bytes())
            .issuer("tl-tests")
            .audience("dashboard")
            .mint("alice", Some("acme"), &["viewer"], Duration::from_secs(60))
            .unwrap();
        assert_eq!(token.split('.').count(), 3, "a JWS: {token}");
        assert!(
            Minter::new("")
                .mint("a", None, &[], Duration::from_secs(1))
                .is_err()
        );
    }
}
