//! The e-mails Limen writes to people, each a plain-text and an HTML
//! template (crates/server/templates/mail): the HTML one escapes every
//! value, the plain one none.

use askama::Template;

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
    m: &'a Invitation<'a>,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a Invitation<'a>,
}

impl Invitation<'_> {
    pub fn mail(&self) -> Result<Mail, MailError> {
        Mail::of(
            format!(
                "{} invites you to face access with Limen",
                self.organisation
            ),
            &InvitationText { m: self },
            &InvitationHtml { m: self },
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
    m: &'a Reconsent<'a>,
}

#[derive(Template)]
#[template(path = "mail/reconsent.html")]
struct ReconsentHtml<'a> {
    m: &'a Reconsent<'a>,
}

impl Reconsent<'_> {
    pub fn mail(&self) -> Result<Mail, MailError> {
        Mail::of(
            format!(
                "{}: the privacy statement for face access has changed",
                self.organisation
            ),
            &ReconsentText { m: self },
            &ReconsentHtml { m: self },
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
    m: &'a Renewal<'a>,
}

#[derive(Template)]
#[template(path = "mail/renewal.html")]
struct RenewalHtml<'a> {
    m: &'a Renewal<'a>,
}

impl Renewal<'_> {
    pub fn mail(&self) -> Result<Mail, MailError> {
        let reminder = if self.reminder { "Reminder: " } else { "" };
        Mail::of(
            format!("{reminder}please renew your face for the entrances"),
            &RenewalText { m: self },
            &RenewalHtml { m: self },
        )
    }
}
