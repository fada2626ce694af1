//! `/admin/audit`: the organisation's audit trail, newest first, with the
//! check of its chain (every link, and its head against this instance's
//! anchor) above it.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::time::{local_time, zone_name};
use super::words::{action_words, actor_words, detail_words};
use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::i18n::Tr;
use crate::pages::error_page;
use crate::views::render;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    /// `Ok(entries checked)`, or the number of the first entry that fails.
    verified: Result<usize, usize>,
    entries: Vec<EntryView>,
    /// The caption, naming the zone the times are in.
    caption: String,
}

struct EntryView {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    detail: String,
}

pub(super) async fn audit(State(state): State<Arc<AppState>>, page: AdminPage) -> Response {
    let trail = match state.services.checked_audit_trail(&page.admin).await {
        Ok(trail) => trail,
        Err(e) => return error_page(page.t, e),
    };
    if let Err(broken) = &trail.verified {
        // The reason is for the operator, who checks with `limen admin
        // audit verify`; the admin is told where and whom to tell.
        tracing::error!(
            chain = broken.chain.as_str(),
            seq = broken.seq,
            reason = broken.reason,
            "an organisation's audit chain does not verify"
        );
    }
    render(
        StatusCode::OK,
        &AuditPage {
            t: page.t,
            title: page.t.tr("admin-audit-title"),
            organisation: &page.organisation,
            csrf: &page.csrf,
            nav: AdminNav::Audit,
            caption: page
                .t
                .tr1("admin-audit-caption", "zone", zone_name(&page.zone)),
            verified: trail
                .verified
                .map_err(|broken| usize::try_from(broken.seq).unwrap_or(0)),
            entries: trail
                .entries
                .into_iter()
                .rev()
                .map(|entry| EntryView {
                    seq: entry.seq,
                    at: local_time(entry.at, &page.zone),
                    actor: actor_words(&page.t, &entry.actor),
                    action: action_words(&page.t, &entry.action),
                    subject: entry.subject,
                    detail: detail_words(&page.t, &entry.detail, &page.zone),
                })
                .collect(),
        },
    )
}
