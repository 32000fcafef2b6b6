//! What every HTTP response tells the browser about itself: a strict
//! Content-Security-Policy, who may frame the dashboard, no MIME sniffing,
//! no referrer. Applied to every route (pages, API, probes): the dashboard
//! needs nothing looser, and a JSON answer loaded as a page gets the same
//! protection.
//!
//! The policy allows scripts, styles, fonts and images from the gateway's own
//! origin only (the dashboard is built without inline scripts), network
//! connections back to that origin (its WebSocket and `/api`), and no
//! plugins, no `<base>` and no forms to elsewhere. Framing is refused unless
//! `--frame-ancestors` names who may frame it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Who may frame the dashboard when nothing is configured.
pub const DEFAULT_FRAME_ANCESTORS: &str = "'none'";

/// The headers, built once.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    policy: HeaderValue,
}

impl SecurityHeaders {
    /// The headers for a gateway that lets `frame_ancestors` (a CSP source
    /// list: `'none'`, `'self'`, or origins) frame its pages.
    pub fn new(frame_ancestors: &str) -> Result<SecurityHeaders, String> {
        check_sources(frame_ancestors)?;
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors {frame_ancestors}"
        );
        Ok(SecurityHeaders {
            policy: HeaderValue::from_str(&policy).map_err(|err| err.to_string())?,
        })
    }
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders::new(DEFAULT_FRAME_ANCESTORS).expect("the default is valid")
    }
}

/// A source list is keywords and origins, nothing that could end the
/// directive or the header.
fn check_sources(list: &str) -> Result<(), String> {
    let words: Vec<&str> = list.split_whitespace().collect();
    if words.is_empty() {
        return Err("must name at least one source ('none', 'self' or an origin)".into());
    }
    for word in words {
        let keyword = matches!(word, "'none'" | "'self'");
        let origin = (word.starts_with("https://") || word.starts_with("http://"))
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:/*[]".contains(c));
        if !(keyword || origin) {
            return Err(format!(
                "{word:?} is not 'none', 'self' or an origin like https://portal.example.com"
            ));
        }
    }
    Ok(())
}

/// Adds the headers to a response (an axum middleware).
pub async fn add(State(headers): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    out.insert(header::CONTENT_SECURITY_POLICY, headers.policy.clone());
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if headers
        .policy
        .to_str()
        .is_ok_and(|p| p.ends_with("frame-ancestors 'none'"))
    {
        // For browsers that predate frame-ancestors.
        out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_take_keywords_and_origins_only() {
        assert!(SecurityHeaders::new("'none'").is_ok());
        assert!(SecurityHeaders::new("'self' https://portal.example.com").is_ok());
        for bad in [
            "",
            "*",
            "https://a.example; script-src *",
            "javascript:",
            "'unsafe-inline'",
        ] {
            assert!(SecurityHeaders::new(bad).is_err(), "{bad:?}");
        }
        let policy = SecurityHeaders::default().policy;
        let policy = policy.to_str().unwrap();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.ends_with("frame-ancestors 'none'"));
    }
}
