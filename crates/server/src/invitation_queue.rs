//! "Invite everyone not yet invited" in the background: the request
//! queues the invitations and answers at once; a task of this server
//! process sends them one after another, retrying a mail the mail server
//! did not take a few times, and keeps each organisation's progress (sent,
//! waiting, failed and why) for its people page.
//!
//! The queue lives in this process: a restart forgets what was still
//! waiting (those people stay "imported", and the admin invites them
//! again), and each instance sends only what it was asked to, so nobody
//! is invited twice by two instances.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use limen_domain::{EmailAddress, OrgAdmin, OrgId, PersonId, PersonStatus};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::invitations::invite;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(invite_everyone_api, sending))
}

/// Invitations waiting at most, over every organisation.
const CAPACITY: usize = 20_000;
/// Tries of a mail the mail server did not take.
const ATTEMPTS: u32 = 3;
/// The pause before the second try; doubled before each further one.
const FIRST_RETRY: Duration = Duration::from_secs(1);

struct Job {
    admin: OrgAdmin,
    person: PersonId,
    email: EmailAddress,
}

/// An organisation's invitations sent in the background, since its last
/// batch began.
#[derive(Default)]
struct Batch {
    sent: usize,
    waiting: HashSet<PersonId>,
    /// Whose invitation could not be sent (why is in the server's log).
    failed: Vec<EmailAddress>,
}

/// How an organisation's invitations sent in the background stand, since
/// its last "invite everyone" that found nothing waiting.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(example = json!({ "sent": 120, "waiting": 178, "failed": ["piet@example.com"] }))]
pub(crate) struct Progress {
    pub sent: usize,
    pub waiting: usize,
    /// Whose invitation the mail server did not take after a few tries.
    #[schema(value_type = Vec<String>)]
    pub failed: Vec<EmailAddress>,
}

/// Invitations queued by "invite everyone".
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "queued": 298 }))]
struct Queued {
    queued: usize,
}

/// Queues an invitation for everyone of the admin's organisation not yet
/// invited, for the pages and the API alike; how many were queued.
pub(crate) async fn invite_everyone(state: &AppState, admin: &OrgAdmin) -> Result<usize, ApiError> {
    let people = state
        .services
        .people(&admin.org)
        .await?
        .into_iter()
        .filter(|p| p.status == PersonStatus::Imported)
        .map(|p| (p.person.id, p.person.email))
        .collect();
    Ok(state.invitations.enqueue(admin, people))
}

/// Invites everyone not yet invited, in the background: answers at once
/// with how many invitations were queued (someone already waiting is not
/// queued twice); `GET` says how the sending goes.
#[utoipa::path(
    post,
    path = "/api/v1/invitations",
    tag = "people",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn invite_everyone_api(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let queued = invite_everyone(&state, &admin).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}

/// How the invitations sent in the background stand: sent, waiting, and
/// whose could not be sent. All zero when none were sent since the server
/// started.
#[utoipa::path(
    get,
    path = "/api/v1/invitations",
    tag = "people",
    security(("api_key" = []), ("admin_session" = [])),
    responses(
        (status = 200, description = "The progress", body = Progress),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ),
)]
async fn sending(State(state): State<Arc<AppState>>, Admin(admin): Admin) -> Json<Progress> {
    Json(state.invitations.progress(&admin.org).unwrap_or_default())
}

pub struct InvitationQueue {
    jobs: mpsc::Sender<Job>,
    /// The other end, until the sending task takes it.
    receiver: Mutex<Option<mpsc::Receiver<Job>>>,
    batches: Mutex<HashMap<OrgId, Batch>>,
}

impl Default for InvitationQueue {
    fn default() -> InvitationQueue {
        let (jobs, receiver) = mpsc::channel(CAPACITY);
        InvitationQueue {
            jobs,
            receiver: Mutex::new(Some(receiver)),
            batches: Mutex::default(),
        }
    }
}

impl InvitationQueue {
    /// Queues an invitation for each person not waiting already (a second
    /// click sends nobody a second mail); returns how many were queued.
    /// Any a full queue cannot take count as failed, never dropped unsaid.
    pub(crate) fn enqueue(&self, admin: &OrgAdmin, people: Vec<(PersonId, EmailAddress)>) -> usize {
        let mut batches = self.lock();
        let batch = batches.entry(admin.org.clone()).or_default();
        // A new batch begins when the last has gone; its report stays
        // until then.
        if batch.waiting.is_empty() && !people.is_empty() {
            *batch = Batch::default();
        }
        let mut queued = 0;
        for (person, email) in people {
            if batch.waiting.contains(&person) {
                continue;
            }
            let job = Job {
                admin: admin.clone(),
                person: person.clone(),
                email: email.clone(),
            };
            match self.jobs.try_send(job) {
                Ok(()) => {
                    batch.waiting.insert(person);
                    queued += 1;
                }
                Err(_) => {
                    tracing::warn!("the invitation queue is full; an invitation was not queued");
                    batch.failed.push(email);
                }
            }
        }
        queued
    }

    /// The organisation's progress; `None` when it sent nothing in the
    /// background since this server started.
    pub(crate) fn progress(&self, org: &OrgId) -> Option<Progress> {
        self.lock().get(org).map(|batch| Progress {
            sent: batch.sent,
            waiting: batch.waiting.len(),
            failed: batch.failed.clone(),
        })
    }

    fn done(&self, job: &Job, sent: bool) {
        let mut batches = self.lock();
        let batch = batches.entry(job.admin.org.clone()).or_default();
        batch.waiting.remove(&job.person);
        if sent {
            batch.sent += 1;
        } else {
            batch.failed.push(job.email.clone());
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<OrgId, Batch>> {
        self.batches.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sends the queued invitations, one at a time, until the server stops.
pub(crate) async fn send_queued(state: Arc<AppState>) {
    let receiver = state
        .invitations
        .receiver
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let Some(mut receiver) = receiver else {
        return;
    };
    while let Some(job) = receiver.recv().await {
        let sent = send_with_retries(&state, &job).await;
        state.invitations.done(&job, sent);
    }
}

/// Whether the invitation went; why not is in the server's log.
async fn send_with_retries(state: &AppState, job: &Job) -> bool {
    let (mut attempt, mut pause) = (1, FIRST_RETRY);
    loop {
        match invite(state, &job.admin, &job.person).await {
            Ok(_) => return true,
            // The mail server did not take it: worth another try.
            Err(e) if e.status == StatusCode::BAD_GATEWAY && attempt < ATTEMPTS => {
                tokio::time::sleep(pause).await;
                (attempt, pause) = (attempt + 1, pause * 2);
            }
            Err(e) => {
                tracing::warn!(error = %e.message, attempts = attempt, "an invitation was not sent");
                return false;
            }
        }
    }
}
