//! The pages as askama templates (crates/server/templates): checked when
//! the crate compiles, every value HTML-escaped unless a template says
//! otherwise (none does).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use limen_domain::{Person, Statement};

use crate::error::ApiError;
use crate::i18n::Tr;
use crate::password_reset::ResetPages;

/// A page as the response with `status`.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            ApiError::internal().into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub t: Tr,
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "privacy.html")]
pub(crate) struct PrivacyPage<'a> {
    pub t: Tr,
    pub title: String,
    pub statement: &'a Statement,
}

#[derive(Template)]
#[template(path = "register.html")]
pub(crate) struct RegisterPage<'a> {
    pub t: Tr,
    pub title: String,
    pub email: &'a str,
    pub org: &'a str,
    pub token: &'a str,
    pub problem: Option<&'a str>,
    pub min: usize,
    pub max: usize,
}

#[derive(Template)]
#[template(path = "admin_register.html")]
pub(crate) struct AdminRegisterPage<'a> {
    pub t: Tr,
    pub title: String,
    pub email: &'a str,
    pub token: &'a str,
    pub problem: Option<&'a str>,
    pub min: usize,
    pub max: usize,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage<'a> {
    pub t: Tr,
    pub title: String,
    pub problem: Option<&'a str>,
}

/// What the account page says of the person's consent.
pub(crate) struct ConsentView {
    pub statement_version: String,
    /// The statement's language, named in the page's.
    pub statement_language: String,
    /// When it was given, as people read it.
    pub given_at: String,
}

/// What the account page says of the person's stored face.
pub(crate) struct FaceView {
    pub model_version: String,
    pub renewal_needed: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub(crate) struct AccountPage<'a> {
    pub t: Tr,
    pub title: String,
    pub person: &'a Person,
    pub organisation: &'a str,
    pub csrf: &'a str,
    pub consent: Option<ConsentView>,
    /// When consent to an older statement lapses, as people read it.
    pub consent_lapses_at: Option<String>,
    pub face: Option<FaceView>,
    /// Each language to choose, by code and in its own words.
    pub languages: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub(crate) struct ConsentPage<'a> {
    pub t: Tr,
    pub title: String,
    pub statement: &'a Statement,
    pub csrf: &'a str,
    pub problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "password.html")]
pub(crate) struct PasswordPage<'a> {
    pub t: Tr,
    pub title: String,
    pub csrf: &'a str,
    pub problem: Option<&'a str>,
    pub min: usize,
}

/// A step that asks before something is deleted.
#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct ConfirmPage<'a> {
    pub t: Tr,
    pub title: String,
    /// What the step deletes and what stays.
    pub explanation: String,
    /// Where the form posts.
    pub action: &'static str,
    pub submit: String,
    /// The way back without deleting.
    pub back: String,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "enrol.html")]
pub(crate) struct EnrolPage<'a> {
    pub t: Tr,
    pub title: String,
    pub csrf: &'a str,
    /// How many pictures one enrolment takes at most.
    pub max_frames: usize,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub(crate) struct ForgotPage {
    pub t: Tr,
    pub title: String,
    pub pages: ResetPages,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub(crate) struct ResetPage<'a> {
    pub t: Tr,
    pub title: String,
    pub pages: ResetPages,
    pub email: &'a str,
    pub token: &'a str,
    pub problem: Option<&'a str>,
    pub min: usize,
    pub max: usize,
}
