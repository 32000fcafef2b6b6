//! The dashboard, embedded in the binary and served at `/`.
//!
//! build.rs builds web/ with Vite and points `TACTICAL_LINK_WEB_DIR` at the
//! result; rust-embed copies it into the binary, so `tactical-link` serves
//! the dashboard with no other files. Unknown paths without a file extension
//! get `index.html` (the app routes itself); hashed assets are cached for
//! good, `index.html` never.

use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "$TACTICAL_LINK_WEB_DIR"]
struct Assets;

/// Serves an embedded file, or the app's index for client-side routes.
/// Pages answer GET and HEAD only.
pub async fn serve_asset(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "method not allowed\n",
        )
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(response) = asset(path) {
        return response;
    }
    let looks_like_file = path
        .rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'));
    if !looks_like_file && let Some(response) = asset("index.html") {
        return response;
    }
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn asset(path: &str) -> Option<Response> {
    let file = Assets::get(path)?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Some(
        (
            [
                (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
            file.data,
        )
            .into_response(),
    )
}

/// Whether the binary carries the real dashboard (not the placeholder).
pub fn dashboard_embedded() -> bool {
    Assets::get("index.html").is_some_and(|f| {
        !String::from_utf8_lossy(&f.data).contains("data-testid=\"dashboard-missing\"")
    })
}
