//! Outgoing e-mail: through an SMTP server, or into an outbox directory on
//! a single machine without one.

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    /// Only the SMTP reply code, if any: the server's words may quote the
    /// recipient's address, and this error reaches logs and answers.
    #[error("the mail server {0}")]
    Send(String),
    #[error("cannot write to the outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

pub struct OutgoingMail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: String,
    pub html: String,
}

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
}

impl Mailer {
    /// `smtp://[user:pass@]host:port` (STARTTLS with `?tls=required`),
    /// `smtps://…` (TLS from the start), or `file:DIR`.
    pub fn from_url(url: &str, from: &str) -> Result<Mailer, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::Config(format!("sender {from:?}: {e}")))?;
        if let Some(dir) = url.strip_prefix("file:") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir)?;
            Ok(Mailer::Outbox { dir, from })
        } else {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| MailError::Config(e.to_string()))?
                .build();
            Ok(Mailer::Smtp { transport, from })
        }
    }

    pub async fn send(&self, mail: OutgoingMail<'_>) -> Result<(), MailError> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Build("the recipient is not a mail address".into()))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| MailError::Build(e.to_string()))?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .map_err(|e| MailError::Send(send_failure(&e)))?;
            }
            Mailer::Outbox { dir, .. } => {
                let name = format!("{}-{:016x}.eml", limen_domain::now(), rand::random::<u64>());
                let path = dir.join(name);
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_private(&path, &bytes))
                    .await
                    .map_err(|e| MailError::Outbox(std::io::Error::other(e)))??;
            }
        }
        Ok(())
    }
}

/// The outbox holds live registration links: readable by the owner only.
/// What a failed SMTP exchange is reported as: its reply code, never the
/// server's text.
fn send_failure(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("refused the message (SMTP {code})"),
        None if e.is_timeout() => "did not answer in time".to_owned(),
        None => "could not be reached".to_owned(),
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
