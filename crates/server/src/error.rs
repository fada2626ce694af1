//! Errors as the API answers them: a status and a message meant for the
//! program on the other side, as JSON `{"error": …}` (English), and what a
//! person reading it on a page is told, in their language.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use limen_domain::InvalidValue;
use limen_services::password::{self, PasswordRejected};
use limen_services::{Refusal, ServiceError};
use limen_store::StoreError;
use serde_json::json;

use crate::i18n::{Text, Tr};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub details: Option<Box<serde_json::Value>>,
    /// Seconds to wait before trying again (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
    /// What a person is told, where one may read it.
    text: Option<Box<Text>>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            details: None,
            retry_after: None,
            text: None,
        }
    }

    /// What a person reading this error is told.
    pub fn with_text(mut self, text: Text) -> ApiError {
        self.text = Some(Box::new(text));
        self
    }

    /// What a person reading this error is told, in their language.
    pub fn text_in(&self, t: Tr) -> String {
        match &self.text {
            Some(text) => t.text(text),
            None if self.status == StatusCode::NOT_FOUND => t.tr("error-not-found"),
            None if self.status.is_client_error() => {
                t.tr1("error-request", "status", u32::from(self.status.as_u16()))
            }
            None => t.tr("error-internal"),
        }
    }

    /// This error as the webcam page's script shows it: its JSON message
    /// in the person's language.
    pub fn for_person(mut self, t: Tr) -> ApiError {
        self.message = self.text_in(t);
        self
    }

    /// Tells the client when to try again; whole seconds, at least one.
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> ApiError {
        self.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(Box::new(details));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not found")
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "missing or invalid credentials")
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; it has been logged",
        )
    }
}

/// A value that did not pass its type's check: the reason for the API in
/// English, and for a page in the reader's language.
impl From<InvalidValue> for ApiError {
    fn from(e: InvalidValue) -> ApiError {
        let id = match e {
            InvalidValue::Email => "invalid-email",
            InvalidValue::AcsId => "invalid-acs-id",
            InvalidValue::Name | InvalidValue::Label => "invalid-name",
            InvalidValue::Id => "invalid-id",
            InvalidValue::Vector => "invalid-vector",
            InvalidValue::PassId => "invalid-pass-id",
            InvalidValue::LivenessMode => "invalid-liveness-mode",
        };
        ApiError::unprocessable(e.to_string()).with_text(Text::new(id))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ServiceError::from(e).into()
    }
}

/// The one place a service's refusal becomes an HTTP status and what a
/// person is told of it.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let text = person_text(&e);
        let error = api_error(e);
        match text {
            Some(text) => error.with_text(text),
            None => error,
        }
    }
}

fn api_error(e: ServiceError) -> ApiError {
    let status = match &e {
        ServiceError::UnknownPerson
        | ServiceError::UnknownOrganisation
        | ServiceError::UnknownEntrance => {
            return ApiError::not_found();
        }
        ServiceError::NoConsent | ServiceError::WrongPassword => StatusCode::FORBIDDEN,
        ServiceError::StatementOutdated
        | ServiceError::AlreadyRegistered
        | ServiceError::ApiKeyNameTaken
        | ServiceError::AdminExists
        | ServiceError::TooManyApiKeys => StatusCode::CONFLICT,
        ServiceError::Enrolment(_) | ServiceError::Frame(_) | ServiceError::PasswordRejected(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::ImportRefused(rows) => {
            return ApiError::unprocessable(e.to_string()).with_details(json!({ "rows": rows }));
        }
        ServiceError::ImportInterrupted { errors, .. } => {
            return ApiError::new(StatusCode::CONFLICT, e.to_string())
                .with_details(json!({ "rows": errors }));
        }
        ServiceError::GalleriesNotCurrent => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::FrameTooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Busy { retry_after } => {
            return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                .with_retry_after(*retry_after);
        }
        ServiceError::InvitationUnknown
        | ServiceError::InvitationExpired
        | ServiceError::ResetLinkUnknown
        | ServiceError::ResetLinkExpired => StatusCode::GONE,
        ServiceError::WrongCredentials | ServiceError::CodeRequired => StatusCode::UNAUTHORIZED,
        ServiceError::WrongCode => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::TwoStepState => StatusCode::CONFLICT,
        ServiceError::Store(other) => {
            tracing::error!(error = %other, "storage failure");
            return ApiError::internal();
        }
        ServiceError::ActivationRefused(_) | ServiceError::ModelChanged => StatusCode::CONFLICT,
        // A model version in use that this instance cannot run: the
        // operator installed a binary or models directory without it.
        ServiceError::UnknownModel(_) | ServiceError::ModelUnavailable(_) => {
            tracing::error!(error = %e, "model version unavailable");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the recognition model is not available on this server",
            );
        }
        ServiceError::Uncalibrated(_) | ServiceError::Internal => {
            tracing::error!(error = %e, "internal failure");
            return ApiError::internal();
        }
    };
    ApiError::new(status, e.to_string())
}

/// What a person is told of a refusal they may meet on the pages.
fn person_text(e: &ServiceError) -> Option<Text> {
    if let Some(refusal) = e.refusal() {
        return Some(match refusal {
            Refusal::FrameCount { max } => Text::new("error-frame-count").with("max", max),
            Refusal::NoUsableFrame(problems) => Text::new("error-no-usable-frame")
                .with_advice(problems.into_iter().flat_map(|p| p.advice).collect()),
            Refusal::FramesDisagree => Text::new("error-frames-disagree"),
            Refusal::Undecodable => Text::new("advice-undecodable"),
        });
    }
    Some(match e {
        ServiceError::NoConsent => Text::new("error-no-consent"),
        ServiceError::StatementOutdated => Text::new("error-statement-outdated"),
        ServiceError::FrameTooLarge { width, height } => Text::new("error-frame-too-large")
            .with("width", *width)
            .with("height", *height),
        ServiceError::Busy { .. } => Text::new("error-busy"),
        ServiceError::GalleriesNotCurrent => Text::new("error-galleries"),
        ServiceError::InvitationUnknown => Text::new("error-invitation-unknown"),
        ServiceError::InvitationExpired => Text::new("error-invitation-expired"),
        ServiceError::AlreadyRegistered => Text::new("error-already-registered"),
        ServiceError::ResetLinkUnknown => Text::new("error-reset-unknown"),
        ServiceError::ResetLinkExpired => Text::new("error-reset-expired"),
        ServiceError::PasswordRejected(rejected) => match rejected {
            PasswordRejected::TooShort => {
                Text::new("error-password-too-short").with("min", password::MIN_CHARS)
            }
            PasswordRejected::TooLong => {
                Text::new("error-password-too-long").with("max", password::MAX_CHARS)
            }
            PasswordRejected::Common => Text::new("error-password-common"),
            PasswordRejected::Contextual => Text::new("error-password-contextual"),
        },
        ServiceError::WrongCredentials => Text::new("error-wrong-credentials"),
        ServiceError::CodeRequired => Text::new("error-code-required"),
        ServiceError::WrongCode => Text::new("error-wrong-code"),
        ServiceError::TwoStepState => Text::new("error-two-step-state"),
        ServiceError::WrongPassword => Text::new("error-wrong-password"),
        ServiceError::ModelChanged => Text::new("error-model-changed"),
        ServiceError::UnknownModel(_) | ServiceError::ModelUnavailable(_) => {
            Text::new("error-model-unavailable")
        }
        _ => return None,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.details {
            Some(details) => json!({ "error": self.message, "details": details }),
            None => json!({ "error": self.message }),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// JSON bodies whose parse errors come back as `{"error": …}` with a 4xx,
/// like every other error of the API.
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}
