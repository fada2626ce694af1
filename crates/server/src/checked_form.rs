//! A form posted from one of our pages by a signed-in browser, its CSRF
//! token checked before the handler runs: one check for every
//! state-changing form, an employee's or an admin's.

use axum::Form;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::admin_pages::AdminPage;
use crate::auth::{CsrfToken, PageSession};
use crate::i18n::Tr;
use crate::pages::csrf_refused;

/// A session whose pages carry a CSRF token in their forms.
pub trait FormSession {
    fn csrf(&self) -> &CsrfToken;
    /// The language a refusal is written in.
    fn reader(&self) -> Tr;
}

impl FormSession for PageSession {
    fn csrf(&self) -> &CsrfToken {
        &self.csrf
    }

    fn reader(&self) -> Tr {
        self.t
    }
}

impl FormSession for AdminPage {
    fn csrf(&self) -> &CsrfToken {
        &self.csrf
    }

    fn reader(&self) -> Tr {
        self.t
    }
}

/// The session and its form's fields (the `csrf` field aside). No session:
/// the session's own answer (to the login page). A wrong or missing token:
/// 403 with the page that says so, before the fields are read. A body
/// that is not a form: axum's answer to it.
pub struct CheckedForm<S, T = Button> {
    pub session: S,
    pub form: T,
}

/// A form with no field but its token.
#[derive(Deserialize)]
pub struct Button {}

#[derive(Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf: String,
}

impl<St, S, T> FromRequest<St> for CheckedForm<S, T>
where
    St: Send + Sync,
    S: FormSession + FromRequestParts<St, Rejection = Response> + Send,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &St) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = S::from_request_parts(&mut parts, state).await?;
        let RawForm(bytes) = RawForm::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let presented = serde_urlencoded::from_bytes::<TokenField>(&bytes)
            .map(|field| field.csrf)
            .unwrap_or_default();
        if !session.csrf().accepts(&presented) {
            return Err(csrf_refused(session.reader()));
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        let Form(form) = Form::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(CheckedForm { session, form })
    }
}
