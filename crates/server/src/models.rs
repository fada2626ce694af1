//! Model renewal as the organisation sees it: `GET /api/v1/model` shows
//! the versions in use and how far the organisation's people are with
//! renewing; the renewal requests go out by e-mail from here.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use limen_services::{RenewalRequest, RolloutView};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::AdminOrg;
use crate::error::ApiError;
use crate::mailer::OutgoingMail;
use crate::pages::escape;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/model", get(show))
}

async fn show(
    State(state): State<Arc<AppState>>,
    AdminOrg(org): AdminOrg,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&state.services.rollout_view(&org).await?)))
}

fn view(view: &RolloutView) -> Value {
    let rollout = &view.rollout;
    json!({
        "active": rollout.active,
        "activated_at": rollout.activated_at,
        "transition": rollout.transition.as_ref().map(|t| json!({
            "retiring": t.retiring,
            "ends_at": t.ends_at,
            "reminders_before_end_seconds": t.reminders,
        })),
        "people": {
            "renewed": view.progress.renewed,
            "pending": view.progress.pending,
            "expired": view.progress.expired,
        },
    })
}

/// Sends the renewal requests now due (see `Services::send_renewal_requests`).
pub(crate) async fn send_renewal_requests(state: &AppState) {
    let sent = state
        .services
        .send_renewal_requests(|request| renewal_mail(state, request))
        .await;
    match sent {
        Ok(0) => {}
        Ok(sent) => tracing::info!(sent, "renewal requests sent"),
        Err(e) => tracing::warn!(error = %e, "cannot send renewal requests"),
    }
}

async fn renewal_mail(
    state: &AppState,
    request: RenewalRequest,
) -> Result<(), crate::mailer::MailError> {
    let base = &state.config.public_url;
    let link = format!("{base}/login");
    let name = request.person.first_name.as_str();
    let until = time_text(request.ends_at);
    let reminder = if request.notice == 0 {
        ""
    } else {
        "Reminder: "
    };
    let text = format!(
        "Hello {name},\n\nLimen, which opens your organisation's entrances for you, now recognises faces with a better model. \
         Your facial vector was made by the previous one, so please renew it: sign in and enrol again with your webcam, \
         which takes a minute and replaces your old vector.\n\n{link}\n\n\
         Your current vector keeps opening the door until {until}. After that it is deleted and the entrances no longer \
         recognise you until you enrol again. Your consent stays as it is; you can still withdraw it at any time.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello {name},</p><p>Limen, which opens your organisation's entrances for you, \
         now recognises faces with a better model. Your facial vector was made by the previous one, so please renew it: \
         <a href=\"{link}\">sign in</a> and enrol again with your webcam, which takes a minute and replaces your old \
         vector.</p><p>Your current vector keeps opening the door until {until}. After that it is deleted and the \
         entrances no longer recognise you until you enrol again. Your consent stays as it is; you can still withdraw \
         it at any time.</p></body></html>",
        name = escape(name),
        link = escape(&link),
        until = escape(&until),
    );
    let subject = format!("{reminder}please renew your face for the entrances");
    state
        .mailer
        .send(OutgoingMail {
            to: request.person.email.as_str(),
            subject: &subject,
            text,
            html,
        })
        .await
}

/// A moment as people read it, in UTC (`2026-12-29 18:00 UTC`).
fn time_text(at: i64) -> String {
    let days = at.div_euclid(86_400);
    let seconds = at.rem_euclid(86_400);
    // The proleptic Gregorian date of a day count from 1970-01-01, by
    // 400-year eras (146,097 days each), counted from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds / 3_600,
        seconds % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::time_text;

    #[test]
    fn moments_read_as_dates() {
        assert_eq!(time_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(time_text(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(time_text(1_796_000_000), "2026-11-30 00:53 UTC");
        assert_eq!(time_text(4_107_542_400), "2100-03-01 00:00 UTC");
        assert_eq!(time_text(-1), "1969-12-31 23:59 UTC");
    }
}
