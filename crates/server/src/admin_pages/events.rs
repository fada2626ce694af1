//! `/admin/events`: the decisions at the organisation's entrances, with
//! the matched person's name and the time, filtered by entrance, outcome
//! and dates (a GET form: the filter is in the address, and nothing
//! changes). The same service call as the admin API's events.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use limen_domain::{Decision, EntranceId};
use limen_store::{DecisionFilter, MAX_LISTED_DECISIONS};
use serde::Deserialize;

use jiff::tz::TimeZone;

use super::time::{day_start, local_time, next_day_start, zone_name};
use super::words::decision_words;
use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::error::ApiError;
use crate::i18n::{Text, Tr};
use crate::pages::error_page;
use crate::views::render;

#[derive(Template)]
#[template(path = "admin/events.html")]
struct EventsPage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    /// Every entrance, for the filter: id and name.
    entrances: Vec<(String, String)>,
    /// Every outcome, for the filter: code and words.
    outcomes: Vec<(&'static str, String)>,
    asked: &'a EventsQuery,
    events: Vec<EventView>,
    /// The list stopped at the most shown.
    truncated: bool,
    problem: Option<&'a str>,
    /// The caption, naming the zone the times are in.
    caption: String,
}

struct EventView {
    at: String,
    entrance: String,
    outcome: String,
    person: Option<String>,
    detail: String,
}

/// The filter as the form sends it; empty means any.
#[derive(Debug, Default, Deserialize)]
pub(super) struct EventsQuery {
    #[serde(default)]
    entrance: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

impl EventsQuery {
    fn filter(&self, zone: &TimeZone) -> Result<DecisionFilter, ApiError> {
        let invalid_date = || {
            ApiError::bad_request("dates are written YYYY-MM-DD")
                .with_text(Text::new("admin-events-date-invalid"))
        };
        let day = |text: &str, start: fn(&str, &TimeZone) -> Option<i64>| match text {
            "" => Ok(None),
            date => start(date, zone).map(Some).ok_or_else(invalid_date),
        };
        Ok(DecisionFilter {
            entrance: match self.entrance.as_str() {
                "" => None,
                id => Some(EntranceId::parse(id).map_err(|_| ApiError::not_found())?),
            },
            decision: match self.outcome.as_str() {
                "" => None,
                code => Some(
                    Decision::parse(code)
                        .ok_or_else(|| ApiError::bad_request("no such outcome"))?,
                ),
            },
            from: day(&self.from, day_start)?,
            // The until date is included: up to the start of the next day
            // (which a change of clocks makes 23 or 25 hours later).
            until: day(&self.until, next_day_start)?,
        })
    }
}

/// An outcome as an admin reads it.
fn outcome_text(t: &Tr, decision: Decision) -> String {
    t.tr(match decision {
        Decision::NoFace => "admin-events-no-face",
        Decision::PoorQuality => "admin-events-poor-quality",
        Decision::Unknown => "admin-events-unknown",
        Decision::Matched => "admin-events-matched",
        Decision::Granted => "admin-events-granted",
        Decision::Denied => "admin-events-denied",
        Decision::SpoofSuspected => "admin-events-spoof-suspected",
    })
}

pub(super) async fn events(
    State(state): State<Arc<AppState>>,
    page: AdminPage,
    Query(asked): Query<EventsQuery>,
) -> Response {
    let t = page.t;
    let entrances = match state.services.store().entrances(&page.admin.org).await {
        Ok(entrances) => entrances
            .into_iter()
            .map(|e| (e.id.as_str().to_owned(), e.name))
            .collect(),
        Err(e) => return error_page(t, e),
    };
    let (status, events, problem) = match asked.filter(&page.zone) {
        Ok(filter) => match state.services.decision_events(&page.admin, &filter).await {
            Ok(events) => (StatusCode::OK, events, None),
            Err(e) => return error_page(t, e),
        },
        Err(e) => (e.status, Vec::new(), Some(e.text_in(t))),
    };
    let truncated = i64::try_from(events.len()).is_ok_and(|n| n >= MAX_LISTED_DECISIONS);
    let events = events
        .into_iter()
        .map(|named| EventView {
            at: local_time(named.event.at, &page.zone),
            entrance: named.entrance,
            outcome: outcome_text(&t, named.event.decision),
            person: named.person,
            detail: decision_words(&t, &named.event.detail),
        })
        .collect();
    render(
        status,
        &EventsPage {
            t,
            title: t.tr("admin-events-title"),
            organisation: &page.organisation,
            csrf: &page.csrf,
            nav: AdminNav::Events,
            entrances,
            outcomes: Decision::ALL
                .into_iter()
                .map(|d| (d.as_str(), outcome_text(&t, d)))
                .collect(),
            asked: &asked,
            events,
            truncated,
            problem: problem.as_deref(),
            caption: t.tr1("admin-events-caption", "zone", zone_name(&page.zone)),
        },
    )
}
