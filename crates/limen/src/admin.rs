//! `limen admin …`: the operator's commands, against the same configuration
//! and database as `limen serve`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use limen_domain::{EmailAddress, OrgId, PersonName};
use limen_server::admins::send_admin_invitation;
use limen_server::config::Config;
use limen_server::mailer::Mailer;
use limen_services::{AdminToken, Operator, ServiceError};
use limen_store::MasterKey;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Organisations (customers).
    #[command(subcommand)]
    Org(OrgCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Model versions: list, activate with a transition, end a transition.
    #[command(subcommand)]
    Model(crate::admin_model::ModelCommand),
    /// The master key.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Replaces the master key: every organisation gets a new data key, its
    /// people's vector keys and connector secrets are wrapped anew, and the old key file
    /// is destroyed once the database has committed. Stop every instance
    /// first, and give each the new key file before starting it again.
    Rotate,
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Creates an organisation and prints its id and admin API token (shown
    /// only this once); with --admin-email, invites its first admin by e-mail.
    Create {
        #[arg(long)]
        name: String,
        /// The first admin's e-mail address: they get a link to choose a password.
        #[arg(long, requires = "admin_name")]
        admin_email: Option<String>,
        /// The first admin's name, as the invitation greets them.
        #[arg(long, requires = "admin_email")]
        admin_name: Option<String>,
        /// Print `{"id": …, "admin_token": …}`.
        #[arg(long)]
        json: bool,
    },
    /// Invites an admin of an organisation by e-mail (again, if their link expired).
    InviteAdmin {
        id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Lists organisations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issues a new admin API token (shown only this once) and revokes the old one.
    Token {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Renames an organisation. Its privacy statement names it, so this is
    /// a new statement: everyone who consented is asked to consent again.
    Rename {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Erases an organisation and everything it holds, and destroys its data key.
    Delete { id: String },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Checks every chain's links and, against the audit anchor (and any
    /// other given), that no chain lost its newest entries or vanished;
    /// reports the first broken link.
    Verify {
        /// Another anchor file to check against: another instance's, or a
        /// copy kept outside this machine. Repeatable.
        #[arg(long = "anchor", value_name = "FILE")]
        anchors: Vec<PathBuf>,
    },
}

pub fn run(config_file: Option<PathBuf>, command: AdminCommand) -> anyhow::Result<()> {
    // Failures the services only log (an audit entry not written) reach stderr.
    crate::serve::init_logging()?;
    let config = Config::load(config_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let operator = Operator::new(crate::serve::open_store(&config).await?);
        let result = match command {
            AdminCommand::Org(command) => org(&operator, &config, command).await,
            AdminCommand::Audit(AuditCommand::Verify { anchors }) => {
                verify(&operator, &anchors).await
            }
            AdminCommand::Key(KeyCommand::Rotate) => rotate(&operator, &config).await,
            AdminCommand::Model(command) => {
                let models = crate::model_source(config.models_dir.as_deref());
                crate::admin_model::run(&operator, &models, command).await
            }
        };
        operator.store().close().await;
        result
    })
}

fn admin_to_invite(email: &str, name: &str) -> anyhow::Result<(EmailAddress, PersonName)> {
    Ok((
        EmailAddress::parse(email).with_context(|| format!("--admin-email {email:?}"))?,
        PersonName::parse(name).context("--admin-name")?,
    ))
}

/// Mails an admin their invitation, then records it (a failed mail leaves
/// nothing behind).
async fn invite_admin(
    operator: &Operator,
    config: &Config,
    mailer: &Mailer,
    org: &OrgId,
    email: EmailAddress,
    name: PersonName,
) -> anyhow::Result<()> {
    let days = config.retention.invitation_days;
    let invitation = operator
        .new_admin_invitation(org, email, name, days)
        .await?;
    send_admin_invitation(mailer, &config.public_url, &invitation, days)
        .await
        .context("the admin's invitation could not be sent")?;
    operator.record_admin_invitation(&invitation).await?;
    eprintln!(
        "invited {} to administer the organisation",
        invitation.email.as_str()
    );
    Ok(())
}

fn org_id(id: &str) -> anyhow::Result<OrgId> {
    OrgId::parse(id).with_context(|| format!("{id:?} is not an organisation id"))
}

/// An organisation's name as the operator typed it, checked.
fn org_name(name: &str) -> anyhow::Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        bail!("the organisation name must be 1 to 200 characters without control characters");
    }
    Ok(name)
}

async fn org(operator: &Operator, config: &Config, command: OrgCommand) -> anyhow::Result<()> {
    match command {
        OrgCommand::Create {
            name,
            admin_email,
            admin_name,
            json,
        } => {
            let name = org_name(&name)?;
            // Checked before anything is created.
            let first_admin = match (admin_email, admin_name) {
                (Some(email), Some(name)) => Some(admin_to_invite(&email, &name)?),
                _ => None,
            };
            let mailer = match first_admin {
                Some(_) => Some(Mailer::from_url(&config.mail_url, &config.mail_from)?),
                None => None,
            };
            let (org, AdminToken(token)) = operator.create_organisation(name).await?;
            // Printed before the invitation goes, so that a mail that cannot
            // be sent never loses the organisation's id and token.
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "id": org.id, "admin_token": token })
                );
            } else {
                println!(
                    "organisation: {}\nid:           {}\nadmin token:  {token}",
                    org.name, org.id
                );
                println!(
                    "(the token is shown only now; keep it safe: it is stored only as a hash)"
                );
            }
            if let (Some((email, name)), Some(mailer)) = (first_admin, mailer) {
                invite_admin(operator, config, &mailer, &org.id, email, name).await?;
            }
        }
        OrgCommand::InviteAdmin { id, email, name } => {
            let (email, name) = admin_to_invite(&email, &name)?;
            let mailer = Mailer::from_url(&config.mail_url, &config.mail_from)?;
            invite_admin(operator, config, &mailer, &org_id(&id)?, email, name).await?;
        }
        OrgCommand::List { json } => {
            let orgs = operator.organisations().await?;
            if json {
                println!("{}", serde_json::to_string(&orgs)?);
            } else {
                for org in orgs {
                    println!("{}  {}", org.id, org.name);
                }
            }
        }
        OrgCommand::Token { id, json } => {
            let id = org_id(&id)?;
            let AdminToken(token) = match operator.replace_admin_token(&id).await {
                Err(ServiceError::UnknownOrganisation) => bail!("no organisation with id {id}"),
                other => other?,
            };
            if json {
                println!("{}", serde_json::json!({ "id": id, "admin_token": token }));
            } else {
                println!(
                    "new admin token:  {token}\n(the old token no longer works; this one is shown only now)"
                );
            }
        }
        OrgCommand::Rename { id, name } => {
            let id = org_id(&id)?;
            let name = org_name(&name)?;
            match operator.rename_organisation(&id, name).await {
                Err(ServiceError::UnknownOrganisation) => bail!("no organisation with id {id}"),
                other => other?,
            }
            println!(
                "organisation {id} is now {name:?}; its privacy statement changed, so everyone who consented is asked to consent again"
            );
        }
        OrgCommand::Delete { id } => {
            let id = org_id(&id)?;
            match operator.delete_organisation(&id).await {
                Err(ServiceError::UnknownOrganisation) => bail!("no organisation with id {id}"),
                other => other?,
            }
            println!(
                "organisation {id} deleted; its data key is destroyed, and running instances drop its gallery"
            );
        }
    }
    Ok(())
}

async fn rotate(operator: &Operator, config: &Config) -> anyhow::Result<()> {
    // A running server would go on with the old key; on SQLite its lock
    // tells (on PostgreSQL the operator stops the instances).
    let _no_server = crate::serve::lock_sqlite_database(config)?;
    let _rotating = crate::serve::lock_key_file(&config.master_key_file)?;
    let pending = crate::serve::pending_key_file(&config.master_key_file);
    let new = MasterKey::create_at(&pending)?;
    let rotated = operator.rotate_master_key(&new).await?;
    crate::serve::replace_key_file(&pending, &config.master_key_file)?;
    println!(
        "master key rotated: {} organisations re-keyed ({} people's vector keys, {} connector secrets, {} admins' second-factor secrets wrapped anew); \
         the old key is destroyed. Give every instance the new {} before starting it.",
        rotated.organisations,
        rotated.vector_keys,
        rotated.connector_secrets,
        rotated.admin_secrets,
        config.master_key_file.display()
    );
    Ok(())
}

async fn verify(operator: &Operator, anchors: &[PathBuf]) -> anyhow::Result<()> {
    match operator.verify_audit(anchors).await? {
        Ok(count) => {
            println!("audit trail intact: {count} entries verified");
            Ok(())
        }
        Err(broken) => bail!("{broken}"),
    }
}
