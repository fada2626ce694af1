//! Accounts: registering with an invitation, signing in and out, changing
//! the password, and cancelling the registration.

use limen_domain::{Actor, AuditAction, AuditDetail, EmailAddress, Language, OrgId, Person, now};
use limen_store::RedeemError;
use limen_store::token::{new_token, token_hash};
use zeroize::Zeroizing;

use crate::error::ServiceError;
use crate::password::{UNUSABLE_HASH, check_new_password, hash_password, verify_password};
use crate::{Services, audit};

/// How long a link to choose a new password works.
pub const PASSWORD_RESET_SECS: i64 = 3600;

/// A link to choose a new password, for one account. The token is shown
/// this once (in the e-mail); only its hash is stored.
pub struct PasswordReset {
    pub person: Person,
    pub token: String,
    /// The language the person reads e-mail in.
    pub language: Language,
}

/// A signed-in session. The token is shown this once; only its hash is stored.
pub struct Session {
    pub person: Person,
    pub token: String,
    pub lifetime_secs: i64,
}

impl Services {
    /// The person a still-valid registration link is for, without using it up.
    pub async fn invitation_for(&self, token: &str) -> Result<Person, ServiceError> {
        Ok(self.store().invitation(&token_hash(token)).await?)
    }

    /// Uses up a registration link and creates the account.
    pub async fn register(&self, token: &str, password: &str) -> Result<Person, ServiceError> {
        let hash = token_hash(token);
        let person = self.store().invitation(&hash).await?;
        self.check_password_for(&person, password).await?;
        let password_hash = hash_blocking(password).await?;
        Ok(self
            .store()
            .redeem_invitation(
                |person| {
                    audit::by_employee(person, AuditAction::AccountRegistered, AuditDetail::None)
                },
                &hash,
                &password_hash,
            )
            .await?)
    }

    /// Opens a session for someone who just proved who they are.
    pub async fn open_session(&self, person: &Person) -> Result<Session, ServiceError> {
        let (token, hash) = new_token();
        let lifetime_secs = i64::from(self.retention().session_hours) * 3600;
        self.store()
            .create_session(person, &hash, now() + lifetime_secs)
            .await?;
        Ok(Session {
            person: person.clone(),
            token,
            lifetime_secs,
        })
    }

    /// Checks e-mail and password and opens a session. Rate limits are the
    /// caller's: they depend on where the attempt comes from.
    pub async fn log_in(
        &self,
        email: &EmailAddress,
        password: &str,
    ) -> Result<Session, ServiceError> {
        let candidates = self.store().accounts_by_email(email).await?;
        let subjects: Vec<Person> = candidates.iter().map(|(p, _)| p.clone()).collect();
        let matched = whose_password(candidates, password).await?;
        let Some(person) = matched else {
            for person in &subjects {
                let entry = audit::entry(
                    person.org_id.as_str(),
                    &Actor::Anonymous,
                    AuditAction::LoginFailed,
                    person.id.as_str(),
                    AuditDetail::None,
                );
                self.store().audit(&entry).await?;
            }
            return Err(ServiceError::WrongCredentials);
        };
        self.open_session(&person).await
    }

    /// New links to choose a password, one for each account with this
    /// address (one per organisation that imported it), replacing earlier
    /// links; none for an address without an account. Rate limits are the
    /// caller's, and so is not telling which it was.
    pub async fn request_password_reset(
        &self,
        email: &EmailAddress,
    ) -> Result<Vec<PasswordReset>, ServiceError> {
        let mut resets = Vec::new();
        for (person, _) in self.store().accounts_by_email(email).await? {
            let (token, hash) = new_token();
            let entry = audit::by_employee(
                &person,
                AuditAction::PasswordResetRequested,
                AuditDetail::None,
            );
            self.store()
                .replace_password_reset(&entry, &person, &hash, now() + PASSWORD_RESET_SECS)
                .await?;
            resets.push(PasswordReset {
                language: self.mail_language(&person).await?,
                person,
                token,
            });
        }
        Ok(resets)
    }

    /// The person a still-valid password link is for, without using it up.
    pub async fn password_reset_for(&self, token: &str) -> Result<Person, ServiceError> {
        self.store()
            .password_reset(&token_hash(token))
            .await
            .map_err(reset_error)
    }

    /// Uses up a password link: the new password replaces the old one and
    /// every session of the person ends.
    pub async fn reset_password(&self, token: &str, new: &str) -> Result<Person, ServiceError> {
        let hash = token_hash(token);
        let person = self
            .store()
            .password_reset(&hash)
            .await
            .map_err(reset_error)?;
        self.check_password_for(&person, new).await?;
        let password_hash = hash_blocking(new).await?;
        self.store()
            .redeem_password_reset(
                |person| audit::by_employee(person, AuditAction::PasswordReset, AuditDetail::None),
                &hash,
                &password_hash,
            )
            .await
            .map_err(reset_error)
    }

    pub async fn end_session(&self, session_hash: &[u8; 32]) -> Result<(), ServiceError> {
        Ok(self.store().delete_session(session_hash).await?)
    }

    /// Sets a new password after checking the current one, and ends every
    /// other session of the person.
    pub async fn change_password(
        &self,
        person: &Person,
        session_hash: &[u8; 32],
        current: &str,
        new: &str,
    ) -> Result<(), ServiceError> {
        let stored = self
            .store()
            .password_hash(person)
            .await?
            .ok_or(ServiceError::WrongPassword)?;
        let current = Zeroizing::new(current.to_owned());
        let current_ok =
            tokio::task::spawn_blocking(move || verify_password(&current, &stored)).await?;
        if !current_ok {
            self.store()
                .audit(&audit::by_employee(
                    person,
                    AuditAction::PasswordChangeFailed,
                    AuditDetail::None,
                ))
                .await?;
            return Err(ServiceError::WrongPassword);
        }
        self.check_password_for(person, new).await?;
        let hash = hash_blocking(new).await?;
        let entry = audit::by_employee(person, AuditAction::PasswordChanged, AuditDetail::None);
        self.store()
            .change_password(&entry, person, &hash, session_hash)
            .await?;
        Ok(())
    }

    /// Cancels the registration: account, sessions, consents and vectors
    /// are erased and the person leaves every gallery; a dated record that
    /// they cancelled is kept as proof.
    pub async fn cancel_registration(&self, person: &Person) -> Result<(), ServiceError> {
        let entry = audit::by_employee(
            person,
            AuditAction::RegistrationCancelled,
            AuditDetail::None,
        );
        self.store().cancel_registration(&entry, person).await?;
        self.galleries
            .follow_own_removal(&person.org_id, &person.id)
            .await;
        Ok(())
    }

    /// A new password must not be built from the person's own address or
    /// their organisation's name.
    async fn check_password_for(
        &self,
        person: &Person,
        password: &str,
    ) -> Result<(), ServiceError> {
        self.check_new_password_of(&person.email, &person.org_id, password)
            .await
    }

    /// As for a person's, for anyone's account: an employee's or an admin's.
    pub(crate) async fn check_new_password_of(
        &self,
        email: &EmailAddress,
        org: &OrgId,
        password: &str,
    ) -> Result<(), ServiceError> {
        let org_name = self
            .store()
            .organisation(org)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let local_part = email.as_str().split('@').next().unwrap_or_default();
        check_new_password(password, &[email.as_str(), local_part, &org_name])?;
        Ok(())
    }
}

/// Why a password link cannot be used.
pub(crate) fn reset_error(e: RedeemError) -> ServiceError {
    match e {
        RedeemError::Expired => ServiceError::ResetLinkExpired,
        RedeemError::Unknown | RedeemError::AlreadyRegistered => ServiceError::ResetLinkUnknown,
        RedeemError::Store(e) => e.into(),
    }
}

/// The candidate whose password hash the password matches, checked off
/// the async threads. With no candidate, a throw-away hash is checked
/// anyway, so that timing does not tell which addresses have accounts.
pub(crate) async fn whose_password<T: Send + 'static>(
    candidates: Vec<(T, String)>,
    password: &str,
) -> Result<Option<T>, ServiceError> {
    let password = Zeroizing::new(password.to_owned());
    Ok(tokio::task::spawn_blocking(move || {
        if candidates.is_empty() {
            let _ = verify_password(&password, UNUSABLE_HASH);
            return None;
        }
        candidates
            .into_iter()
            .find(|(_, hash)| verify_password(&password, hash))
            .map(|(candidate, _)| candidate)
    })
    .await?)
}

pub(crate) async fn hash_blocking(password: &str) -> Result<String, ServiceError> {
    let password = Zeroizing::new(password.to_owned());
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot hash a password");
            ServiceError::Internal
        })
}
