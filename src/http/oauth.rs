//! `GET /oauth/start` and `GET /oauth/callback`: an agent's browser linking their Zoho Desk
//! account ([`crate::link`]). Plain pages in the agent's language; nothing secret on them.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};

use super::AppState;
use crate::config::Locale;
use crate::i18n::texts;
use crate::link::LinkError;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The browser's preferred language of ja and en (`Accept-Language`, by `q`), if any.
fn browser_locale(req: &HttpRequest) -> Option<Locale> {
    let header = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)?
        .to_str()
        .ok()?;
    let mut best: Option<(f32, Locale)> = None;
    for part in header.split(',') {
        let mut fields = part.split(';');
        let tag = fields
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let locale = match tag.split(['-', '_']).next() {
            Some("ja") => Locale::Ja,
            Some("en") => Locale::En,
            _ => continue,
        };
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, locale));
        }
    }
    best.map(|(_, l)| l)
}

/// The page's language: the one the link was made in, else the browser's, else the org's.
fn page_locale(req: &HttpRequest, linker: &crate::link::Linker, signed: &str) -> Locale {
    linker
        .locale_of_state(signed)
        .or_else(|| browser_locale(req))
        .unwrap_or_else(|| linker.org_locale())
}

fn page(status: StatusCode, locale: Locale, title: &str, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(format!(
            "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1><p>{}</p></body></html>\n",
            locale.as_str(),
            escape(text),
            t = escape(title),
        ))
}

fn failure(locale: Locale, e: &LinkError) -> HttpResponse {
    let a = texts(locale).act;
    let (status, text) = match e {
        LinkError::Disabled => (StatusCode::NOT_FOUND, a.off),
        LinkError::BadState => (StatusCode::BAD_REQUEST, a.page_bad_state),
        LinkError::StateUsed => (StatusCode::BAD_REQUEST, a.page_used),
        LinkError::WrongUser => (StatusCode::FORBIDDEN, a.page_wrong_user),
        LinkError::NotAnAgent => (StatusCode::FORBIDDEN, a.page_not_agent),
        LinkError::Denied(_) => (StatusCode::FORBIDDEN, a.page_denied),
        _ => (StatusCode::BAD_GATEWAY, a.page_error),
    };
    page(status, locale, a.page_failed_title, text)
}

/// Checks the state and sends the browser to Zoho's consent page.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let linker = state.commands.linker();
    let signed = q.get("state").map(String::as_str).unwrap_or("");
    let locale = page_locale(&req, linker, signed);
    match linker.authorize_url(signed) {
        Ok(url) => HttpResponse::Found()
            .insert_header(("Location", url))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(e) => failure(locale, &e),
    }
}

/// Zoho's redirect back: `code` and `state` (or `error`).
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let linker = state.commands.linker();
    let signed = q.get("state").map(String::as_str).unwrap_or("");
    let locale = page_locale(&req, linker, signed);
    // The state first: a callback that is not ours (or spent) is a bad request, whatever
    // else it says; only then a refusal by Zoho (or no code) is a denial.
    let outcome = match (linker.check_state(signed), q.get("code"), q.get("error")) {
        (Err(e), _, _) => Err(e),
        (Ok(()), Some(code), None) if !code.is_empty() => linker.complete(code, signed).await,
        (Ok(()), _, error) => Err(LinkError::Denied(
            error.cloned().unwrap_or_else(|| "no code".into()),
        )),
    };
    let label = match &outcome {
        Ok(_) => "linked",
        Err(LinkError::WrongUser) => "wrong_user",
        Err(LinkError::BadState | LinkError::StateUsed) => "bad_state",
        Err(_) => "failed",
    };
    state
        .metrics
        .actions_total
        .with_label_values(&["link", label])
        .inc();
    match outcome {
        Ok(linked) => {
            let a = texts(linked.locale).act;
            page(
                StatusCode::OK,
                linked.locale,
                a.page_linked_title,
                a.page_linked,
            )
        }
        Err(e) => {
            tracing::info!(error = %e, "an agent's link did not complete");
            failure(locale, &e)
        }
    }
}
