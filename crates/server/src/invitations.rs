//! Inviting a person to register: a link made, mailed in the language the
//! person reads, and recorded only once the mail is out. The admin API and
//! the admin's people page both invite here.

use limen_domain::{Language, OrgAdmin, PersonId, UnixTime};

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::{Text, Tr};
use crate::mails::Invitation;

/// Invites the person; when their link expires. A failed send leaves an
/// earlier link (if any) working and the person's status as it was.
pub(crate) async fn invite(
    state: &AppState,
    admin: &OrgAdmin,
    person: &PersonId,
) -> Result<UnixTime, ApiError> {
    let invitation = state.services.new_invitation(&admin.org, person).await?;
    let base = &state.config.public_url;
    let statement_link = format!("{base}/privacy/{}", admin.org);
    let register_link = format!("{base}/register?token={}", invitation.token);
    let reads = Language::read_by(
        invitation.person.language,
        None,
        invitation.organisation.language,
    );
    let sent = match (Invitation {
        name: invitation.person.first_name.as_str(),
        organisation: &invitation.organisation.name,
        statement_link: &statement_link,
        register_link: &register_link,
        days: state.services.retention().invitation_days,
    })
    .mail(Tr::new(reads))
    {
        Ok(mail) => {
            mail.send(&state.mailer, invitation.person.email.as_str())
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "invitation e-mail not sent");
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            format!("the invitation could not be sent: {e}"),
        )
        .with_text(Text::new("admin-people-not-sent")));
    }
    state.services.record_invitation(admin, &invitation).await?;
    Ok(invitation.expires_at)
}
