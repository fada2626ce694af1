//! The e-mails Limen writes to people, each a plain-text and an HTML
//! template (crates/server/templates/mail): the HTML one escapes every
//! value, the plain one none.

use askama::Template;

use crate::i18n::Tr;
use crate::mailer::{MailError, Mailer, OutgoingMail};

/// One e-mail's subject and both of its bodies.
pub(crate) struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    fn of(subject: String, text: &impl Template, html: &impl Template) -> Result<Mail, MailError> {
        let render =
            |t: Result<String, askama::Error>| t.map_err(|e| MailError::Build(e.to_string()));
        Ok(Mail {
            subject,
            text: render(text.render())?,
            html: render(html.render())?,
        })
    }

    pub async fn send(self, mailer: &Mailer, to: &str) -> Result<(), MailError> {
        mailer
            .send(OutgoingMail {
                to,
                subject: &self.subject,
                text: self.text,
                html: self.html,
            })
            .await
    }
}

/// What the invitation to register says: who invites, and the links.
pub(crate) struct Invitation<'a> {
    pub name: &'a str,
    pub organisation: &'a str,
    pub statement_link: &'a str,
    pub register_link: &'a str,
    /// How long the registration link works.
    pub days: u32,
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    t: Tr,
    m: &'a Invitation<'a>,
    days: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    t: Tr,
    m: &'a Invitation<'a>,
    days: &'a str,
}

impl Invitation<'_> {
    pub fn mail(&self, t: Tr) -> Result<Mail, MailError> {
        let days = &t.tr1("mail-days", "days", self.days);
        Mail::of(
            t.tr1("mail-invitation-subject", "organisation", self.organisation),
            &InvitationText { t, m: self, days },
            &InvitationHtml { t, m: self, days },
        )
    }
}

/// What the invitation to become an organisation's admin says.
pub(crate) struct AdminInvitation<'a> {
    pub name: &'a str,
    pub organisation: &'a str,
    pub register_link: &'a str,
    /// How long the registration link works.
    pub days: u32,
}

#[derive(Template)]
#[template(path = "mail/admin_invitation.txt")]
struct AdminInvitationText<'a> {
    t: Tr,
    m: &'a AdminInvitation<'a>,
    days: &'a str,
}

#[derive(Template)]
#[template(path = "mail/admin_invitation.html")]
struct AdminInvitationHtml<'a> {
    t: Tr,
    m: &'a AdminInvitation<'a>,
    days: &'a str,
}

impl AdminInvitation<'_> {
    pub fn mail(&self, t: Tr) -> Result<Mail, MailError> {
        let days = &t.tr1("mail-days", "days", self.days);
        Mail::of(
            t.tr1(
                "mail-admin-invitation-subject",
                "organisation",
                self.organisation,
            ),
            &AdminInvitationText { t, m: self, days },
            &AdminInvitationHtml { t, m: self, days },
        )
    }
}

/// What the request to read a changed privacy statement and consent
/// again says.
pub(crate) struct Reconsent<'a> {
    pub name: &'a str,
    pub organisation: &'a str,
    pub statement_link: &'a str,
    pub login_link: &'a str,
    /// When the consent to the older statement lapses.
    pub until: &'a str,
}

#[derive(Template)]
#[template(path = "mail/reconsent.txt")]
struct ReconsentText<'a> {
    t: Tr,
    m: &'a Reconsent<'a>,
}

#[derive(Template)]
#[template(path = "mail/reconsent.html")]
struct ReconsentHtml<'a> {
    t: Tr,
    m: &'a Reconsent<'a>,
}

impl Reconsent<'_> {
    pub fn mail(&self, t: Tr) -> Result<Mail, MailError> {
        Mail::of(
            t.tr1("mail-reconsent-subject", "organisation", self.organisation),
            &ReconsentText { t, m: self },
            &ReconsentHtml { t, m: self },
        )
    }
}

/// What the request to renew a face enrolled by an older model says.
pub(crate) struct Renewal<'a> {
    pub name: &'a str,
    pub login_link: &'a str,
    /// When the old vectors stop working.
    pub until: &'a str,
    /// Whether an earlier request went before this one.
    pub reminder: bool,
}

#[derive(Template)]
#[template(path = "mail/renewal.txt")]
struct RenewalText<'a> {
    t: Tr,
    m: &'a Renewal<'a>,
}

#[derive(Template)]
#[template(path = "mail/renewal.html")]
struct RenewalHtml<'a> {
    t: Tr,
    m: &'a Renewal<'a>,
}

impl Renewal<'_> {
    pub fn mail(&self, t: Tr) -> Result<Mail, MailError> {
        let subject = if self.reminder {
            t.tr("mail-renewal-reminder-subject")
        } else {
            t.tr("mail-renewal-subject")
        };
        Mail::of(
            subject,
            &RenewalText { t, m: self },
            &RenewalHtml { t, m: self },
        )
    }
}

/// What the link to choose a new password says.
pub(crate) struct PasswordResetLink<'a> {
    pub name: &'a str,
    pub reset_link: &'a str,
    /// How long the link works.
    pub minutes: u32,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct PasswordResetText<'a> {
    t: Tr,
    m: &'a PasswordResetLink<'a>,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct PasswordResetHtml<'a> {
    t: Tr,
    m: &'a PasswordResetLink<'a>,
}

impl PasswordResetLink<'_> {
    pub fn mail(&self, t: Tr) -> Result<Mail, MailError> {
        Mail::of(
            t.tr("mail-reset-subject"),
            &PasswordResetText { t, m: self },
            &PasswordResetHtml { t, m: self },
        )
    }
}
