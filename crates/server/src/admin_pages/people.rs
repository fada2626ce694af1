//! The admin's people page: the organisation's people with their status
//! (never a face or a vector), searched and a page at a time; inviting the
//! ones selected or everyone not yet invited, resending an invitation,
//! erasing a person after a confirmation step. The import is
//! [`super::people_import`]'s. Each change is the same services call the
//! API makes.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use limen_domain::{OrgAdmin, Person, PersonId, PersonOverview, PersonStatus};
use serde::Deserialize;

use super::{AdminNav, AdminPage};
use crate::AppState;
use crate::checked_form::CheckedForm;
use crate::i18n::{Text, Tr};
use crate::invitation_queue::invite_everyone;
use crate::invitations::invite;
use crate::pages::error_page;
use crate::views::render;

/// People on one page of the list.
const PAGE_SIZE: usize = 50;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/people", get(list))
        .route("/admin/people/invitations", post(invite_many))
        .route("/admin/people/{id}/invitation", post(resend))
        .route("/admin/people/{id}/erase", get(erase_form).post(erase))
        .merge(super::people_import::routes())
}

/// A person as a row of the list.
pub(super) struct PersonRowView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub acs_id: String,
    pub status: String,
    /// Not registered yet: an invitation can be sent (again).
    pub invitable: bool,
    /// Invited before: the button says "resend".
    pub invited: bool,
}

impl PersonRowView {
    fn of(t: Tr, overview: &PersonOverview) -> PersonRowView {
        let person = &overview.person;
        PersonRowView {
            id: person.id.to_string(),
            name: full_name(person),
            email: person.email.to_string(),
            acs_id: person.acs_id.as_str().to_owned(),
            status: status_text(t, overview.status),
            invitable: matches!(
                overview.status,
                PersonStatus::Imported | PersonStatus::Invited
            ),
            invited: overview.status == PersonStatus::Invited,
        }
    }
}

fn full_name(person: &Person) -> String {
    format!(
        "{} {}",
        person.first_name.as_str(),
        person.last_name.as_str()
    )
}

fn status_text(t: Tr, status: PersonStatus) -> String {
    t.tr(match status {
        PersonStatus::Imported => "admin-people-status-imported",
        PersonStatus::Invited => "admin-people-status-invited",
        PersonStatus::Registered => "admin-people-status-registered",
        PersonStatus::Consented => "admin-people-status-consented",
        PersonStatus::Enrolled => "admin-people-status-enrolled",
        PersonStatus::RenewalNeeded => "admin-people-status-renewal-needed",
    })
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct PeoplePage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    /// What the last change did, when the page follows one.
    done: Option<String>,
    /// How the invitations sent in the background stand, if any were.
    sending: Option<String>,
    /// Whose background invitation could not be sent.
    not_sent: Vec<String>,
    search: &'a str,
    people: Vec<PersonRowView>,
    /// People matching the search, on every page.
    matching: usize,
    /// "People 51 to 100 of 230", when there is more than one page.
    range: Option<String>,
    previous: Option<String>,
    next: Option<String>,
}

/// The list's query: the search, the page (from 1), and what the change
/// that led here did (counts only: a crafted link can say no more than
/// "3 sent").
#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<usize>,
    imported: Option<usize>,
    invited: Option<usize>,
    not_sent: Option<usize>,
    queued: Option<usize>,
    erased: Option<usize>,
}

impl ListQuery {
    fn done(&self, t: Tr) -> Option<String> {
        if let Some(count) = self.imported {
            return Some(t.tr1("admin-people-done-imported", "count", count));
        }
        if self.erased.is_some() {
            return Some(t.tr("admin-people-done-erased"));
        }
        if let Some(count) = self.queued {
            return Some(t.tr1("admin-people-done-queued", "count", count));
        }
        match (self.invited, self.not_sent) {
            (None, None) => None,
            (sent, None | Some(0)) => {
                Some(t.tr1("admin-people-done-invited", "count", sent.unwrap_or(0)))
            }
            (sent, Some(failed)) => Some(t.tr2(
                "admin-people-done-invited-some",
                "count",
                sent.unwrap_or(0),
                "failed",
                failed,
            )),
        }
    }
}

fn list_link(search: &str, page: usize) -> String {
    let query = serde_urlencoded::to_string([("q", search), ("page", &page.to_string())])
        .unwrap_or_default();
    format!("/admin/people?{query}")
}

async fn list(
    State(state): State<Arc<AppState>>,
    page: AdminPage,
    Query(query): Query<ListQuery>,
) -> Response {
    let t = page.t;
    let number = query.page.unwrap_or(1).max(1);
    let search = query.q.trim();
    let offset = (number - 1).saturating_mul(PAGE_SIZE);
    let (people, matching) = match state
        .services
        .people_page(&page.admin.org, search, offset, PAGE_SIZE)
        .await
    {
        Ok(found) => found,
        Err(e) => return error_page(t, e),
    };
    let pages = matching.div_ceil(PAGE_SIZE).max(1);
    let range = (pages > 1 && !people.is_empty()).then(|| {
        t.tr2(
            "admin-people-range",
            "from",
            offset + 1,
            "to",
            offset + people.len(),
        )
    });
    let progress = state.invitations.progress(&page.admin.org);
    render(
        StatusCode::OK,
        &PeoplePage {
            t,
            title: t.tr("admin-people-title"),
            organisation: &page.organisation,
            csrf: &page.csrf,
            nav: AdminNav::People,
            done: query.done(t),
            sending: progress.as_ref().map(|p| {
                t.text(
                    &Text::new("admin-people-sending")
                        .with("sent", p.sent)
                        .with("waiting", p.waiting)
                        .with("failed", p.failed.len()),
                )
            }),
            not_sent: progress
                .map(|p| p.failed.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            search,
            people: people.iter().map(|p| PersonRowView::of(t, p)).collect(),
            matching,
            range,
            previous: (number > 1).then(|| list_link(search, number.min(pages + 1) - 1)),
            next: (number < pages).then(|| list_link(search, number + 1)),
        },
    )
}

/// A form's fields as sent, repeated names included (the selected
/// people's checkboxes).
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Invites everyone not yet invited (`which=all`) in the background: the
/// answer comes at once, the page shows how the sending goes. Or the
/// people selected (`which=selected`, the `person` boxes), one after
/// another; then back to the list, saying how many were sent and how many
/// not.
async fn invite_many(
    State(state): State<Arc<AppState>>,
    CheckedForm {
        session: page,
        form: fields,
    }: CheckedForm<AdminPage, Fields>,
) -> Response {
    if field(&fields, "which") == "all" {
        return match invite_everyone(&state, &page.admin).await {
            Ok(queued) => Redirect::to(&format!("/admin/people?queued={queued}")).into_response(),
            Err(e) => error_page(page.t, e),
        };
    }
    // An id that is not one is nobody of this organisation's: the
    // services find no such person, as for another organisation's.
    let people: Vec<PersonId> = fields
        .iter()
        .filter(|(n, _)| n == "person")
        .filter_map(|(_, id)| PersonId::parse(id).ok())
        .collect();
    let (sent, not_sent) = invite_each(&state, &page.admin, &people).await;
    Redirect::to(&format!("/admin/people?invited={sent}&not_sent={not_sent}")).into_response()
}

async fn invite_each(state: &AppState, admin: &OrgAdmin, people: &[PersonId]) -> (usize, usize) {
    let mut sent = 0;
    for person in people {
        if invite(state, admin, person).await.is_ok() {
            sent += 1;
        }
    }
    (sent, people.len() - sent)
}

fn person_id(text: &str) -> Option<PersonId> {
    PersonId::parse(text).ok()
}

async fn resend(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    let Some(person) = person_id(&id) else {
        return error_page(page.t, crate::ApiError::not_found());
    };
    match invite(&state, &page.admin, &person).await {
        Ok(_) => Redirect::to("/admin/people?invited=1").into_response(),
        Err(e) => error_page(page.t, e),
    }
}

#[derive(Template)]
#[template(path = "admin/people_erase.html")]
struct ErasePage<'a> {
    t: Tr,
    title: String,
    organisation: &'a str,
    csrf: &'a str,
    nav: AdminNav,
    id: String,
    explanation: String,
}

async fn erase_form(
    State(state): State<Arc<AppState>>,
    page: AdminPage,
    Path(id): Path<String>,
) -> Response {
    let t = page.t;
    let Some(id) = person_id(&id) else {
        return error_page(t, crate::ApiError::not_found());
    };
    let person = match state.services.person(&page.admin.org, &id).await {
        Ok(person) => person,
        Err(e) => return error_page(t, e),
    };
    let name = full_name(&person);
    render(
        StatusCode::OK,
        &ErasePage {
            t,
            title: t.tr1("admin-people-erase-title", "name", &name),
            organisation: &page.organisation,
            csrf: &page.csrf,
            nav: AdminNav::People,
            id: person.id.to_string(),
            explanation: t.tr2(
                "admin-people-erase-explanation",
                "name",
                &name,
                "email",
                person.email.as_str(),
            ),
        },
    )
}

async fn erase(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CheckedForm { session: page, .. }: CheckedForm<AdminPage>,
) -> Response {
    let erased = match person_id(&id) {
        Some(id) => state.services.erase_person(&page.admin, &id).await,
        None => Ok(false),
    };
    match erased {
        Ok(true) => Redirect::to("/admin/people?erased=1").into_response(),
        Ok(false) => error_page(page.t, crate::ApiError::not_found()),
        Err(e) => error_page(page.t, e),
    }
}
