//! What the services refuse or fail at, in the domain's words. The HTTP
//! edge maps each to a status; nothing here speaks HTTP.

use limen_domain::RowError;
use limen_face::{EnrolmentError, FaceError};
use limen_store::{RedeemError, StoreError};

use crate::password::PasswordRejected;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no such person in this organisation")]
    UnknownPerson,
    #[error("no such organisation")]
    UnknownOrganisation,
    #[error("no such entrance in this organisation")]
    UnknownEntrance,
    #[error("an admin of the organisation has registered with that e-mail address already")]
    AdminExists,
    #[error(
        "that name is taken, by another API key of the organisation or by the operator's admin token"
    )]
    ApiKeyNameTaken,
    #[error("the organisation holds {max} API keys, the most it may; revoke one first", max = limen_store::MAX_API_KEYS)]
    TooManyApiKeys,
    #[error(
        "consent is required before enrolment: read the privacy statement and give your consent first"
    )]
    NoConsent,
    #[error(
        "the statement version does not match the current privacy statement; read it again and consent to the current version"
    )]
    StatementOutdated,
    /// The enrolment frames were refused (no face, poor quality, …).
    #[error("{0}")]
    Enrolment(#[from] EnrolmentError),
    /// A frame could not be read as an image.
    #[error("{0}")]
    Frame(#[from] FaceError),
    /// A frame larger than any camera Limen serves sends, refused from its
    /// header before a pixel is decoded.
    #[error(
        "the image is {width}×{height} pixels; frames may be at most {max_megapixels:.1} megapixels (such as 3840×2160)",
        max_megapixels = crate::MAX_FRAME_PIXELS as f64 / 1e6
    )]
    FrameTooLarge { width: u32, height: u32 },
    /// The face engine has as much work waiting as it may; nothing was
    /// done. Try again after `retry_after`.
    #[error("the face engine is busy; try again in a moment")]
    Busy { retry_after: std::time::Duration },
    /// The galleries could not be confirmed to hold every change up to the
    /// database's: a frame is refused rather than searched in a gallery
    /// that may still hold a withdrawn face.
    #[error("the galleries cannot be confirmed up to date (database unreachable?); try again")]
    GalleriesNotCurrent,
    #[error(
        "this registration link is not valid: it may have been used already or replaced by a newer one"
    )]
    InvitationUnknown,
    #[error("this registration link has expired; ask your organisation to send a new invitation")]
    InvitationExpired,
    #[error(
        "this link to choose a new password is not valid: it may have been used already or replaced by a newer one"
    )]
    ResetLinkUnknown,
    #[error("this link to choose a new password has expired; ask for a new one")]
    ResetLinkExpired,
    #[error("this person is already registered")]
    AlreadyRegistered,
    #[error("{0}")]
    PasswordRejected(#[from] PasswordRejected),
    #[error("wrong e-mail address or password")]
    WrongCredentials,
    /// The password was right; this admin also signs in with a code from
    /// their authenticator app, which was not given.
    #[error("give the code from your authenticator app as well")]
    CodeRequired,
    /// A code from an authenticator app that is not the current one (or
    /// was used already).
    #[error("this code is not the current one from your authenticator app")]
    WrongCode,
    /// Two-step sign-in is set up already, or was not begun.
    #[error("two-step sign-in is not in the state this step needs")]
    TwoStepState,
    #[error("the current password is not correct")]
    WrongPassword,
    #[error(
        "the import was refused and nothing was changed; correct the rows listed and send it again"
    )]
    ImportRefused(Vec<RowError>),
    /// A later batch of a large import failed: the rows before it stay.
    #[error(
        "the import stopped after {written} of {total} rows, which were imported; the rest was not. \
         Sending the same rows again is safe: people already imported are updated, not added twice"
    )]
    ImportInterrupted {
        written: usize,
        total: usize,
        /// The rows that clashed with a change made meanwhile, if that
        /// was why.
        errors: Vec<RowError>,
    },
    /// The operator activated another model version while the frames were
    /// being read: nothing was stored.
    #[error("the recognition model changed while your face was being read: please enrol again")]
    ModelChanged,
    /// A stored or requested model version this build does not know.
    #[error("model version {0} is not installed in this build")]
    UnknownModel(String),
    /// A model version's files could not be loaded.
    #[error("cannot load a model version: {0}")]
    ModelUnavailable(String),
    #[error("{0}")]
    ActivationRefused(#[from] limen_store::ActivationRefused),
    /// The engine's model has no measured thresholds in this build.
    #[error("model version {0} has no calibration in this build: it cannot decide who is who")]
    Uncalibrated(String),
    #[error("storage failure: {0}")]
    Store(StoreError),
    /// A worker thread failed (a bug); the details are in the log.
    #[error("internal failure")]
    Internal,
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::NoConsent => ServiceError::NoConsent,
            StoreError::UnknownPerson => ServiceError::UnknownPerson,
            StoreError::UnknownOrganisation => ServiceError::UnknownOrganisation,
            StoreError::ModelNotInUse => ServiceError::ModelChanged,
            other => ServiceError::Store(other),
        }
    }
}

impl From<RedeemError> for ServiceError {
    fn from(e: RedeemError) -> ServiceError {
        match e {
            RedeemError::Unknown => ServiceError::InvitationUnknown,
            RedeemError::Expired => ServiceError::InvitationExpired,
            RedeemError::AlreadyRegistered => ServiceError::AlreadyRegistered,
            RedeemError::Store(e) => e.into(),
        }
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(e: tokio::task::JoinError) -> ServiceError {
        tracing::error!(error = %e, "a worker thread failed");
        ServiceError::Internal
    }
}

impl From<crate::engine_queue::EngineBusy> for ServiceError {
    fn from(busy: crate::engine_queue::EngineBusy) -> ServiceError {
        ServiceError::Busy {
            retry_after: busy.retry_after,
        }
    }
}
