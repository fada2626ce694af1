//! The e-mails Limen sends of its own accord, every few seconds while any
//! is due: requests to renew a face for a new model version, and requests
//! to consent again to a changed privacy statement. Each is claimed in the
//! database before it goes, so several instances send it once.

use limen_services::{ReconsentRequest, RenewalRequest};

use crate::AppState;
use crate::i18n::Tr;
use crate::mailer::MailError;
use crate::mails::{Reconsent, Renewal};

/// Sends every request now due.
pub(crate) async fn send_due(state: &AppState) {
    match state
        .services
        .send_renewal_requests(|request| renewal_mail(state, request))
        .await
    {
        Ok(0) => {}
        Ok(sent) => tracing::info!(sent, "renewal requests sent"),
        Err(e) => tracing::warn!(error = %e, "cannot send renewal requests"),
    }
    match state
        .services
        .send_reconsent_requests(|request| reconsent_mail(state, request))
        .await
    {
        Ok(0) => {}
        Ok(sent) => tracing::info!(sent, "requests to consent again sent"),
        Err(e) => tracing::warn!(error = %e, "cannot send requests to consent again"),
    }
}

async fn reconsent_mail(state: &AppState, request: ReconsentRequest) -> Result<(), MailError> {
    let base = &state.config.public_url;
    Reconsent {
        name: request.person.first_name.as_str(),
        organisation: &request.organisation,
        statement_link: &format!("{base}/privacy/{}", request.person.org_id),
        login_link: &format!("{base}/login"),
        until: &time_text(request.lapses_at),
    }
    .mail(Tr::new(request.language))?
    .send(&state.mailer, request.person.email.as_str())
    .await
}

async fn renewal_mail(state: &AppState, request: RenewalRequest) -> Result<(), MailError> {
    Renewal {
        name: request.person.first_name.as_str(),
        login_link: &format!("{}/login", state.config.public_url),
        until: &time_text(request.ends_at),
        reminder: request.notice != 0,
    }
    .mail(Tr::new(request.language))?
    .send(&state.mailer, request.person.email.as_str())
    .await
}

/// A moment as people read it, in UTC (`2026-12-29 18:00 UTC`).
pub(crate) fn time_text(at: i64) -> String {
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
