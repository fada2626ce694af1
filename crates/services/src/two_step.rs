//! An admin's optional second factor: setting up an authenticator app,
//! asking for its code at sign-in, turning it off. Codes are TOTP
//! (RFC 6238, [`crate::totp`]); each is taken once.

use limen_domain::{AdminCredential, AdminId, AuditAction, AuditDetail, OrgAdmin, OrgId, now};
use limen_store::AdminTotp;

use crate::error::ServiceError;
use crate::totp;
use crate::{Services, audit};

/// What an authenticator app needs to be set up: the secret to type in,
/// or the `otpauth://` link a QR code or a tap hands over.
pub struct TwoStepSetup {
    pub secret: String,
    pub link: String,
}

impl Services {
    /// Whether the admin signs in with a code as well.
    pub async fn two_step_on(&self, org: &OrgId, admin: &AdminId) -> Result<bool, ServiceError> {
        Ok(self.store().admin_totp_on(org, admin).await?)
    }

    /// Starts setting up an authenticator app for the admin signed in as
    /// `by`: a fresh secret, kept until a code confirms it (a second start
    /// replaces it). Only an admin's own session may, not an API key.
    pub async fn begin_two_step(&self, by: &OrgAdmin) -> Result<(), ServiceError> {
        let admin = own_account(by)?;
        let secret = totp::new_secret();
        if !self
            .store()
            .set_pending_admin_totp(&by.org, admin, &secret)
            .await?
        {
            return Err(ServiceError::TwoStepState);
        }
        Ok(())
    }

    /// The set-up begun and not yet confirmed, for the app to take in.
    pub async fn pending_two_step(
        &self,
        by: &OrgAdmin,
        organisation: &str,
    ) -> Result<TwoStepSetup, ServiceError> {
        let admin = own_account(by)?;
        let AdminTotp::Pending(secret) = self.store().admin_totp(&by.org, admin).await? else {
            return Err(ServiceError::TwoStepState);
        };
        let account = self
            .store()
            .admins(&by.org)
            .await?
            .into_iter()
            .find(|a| &a.id == admin)
            .ok_or(ServiceError::TwoStepState)?;
        Ok(TwoStepSetup {
            secret: totp::base32(&secret),
            link: totp::provisioning_uri(
                &secret,
                &format!("Limen {organisation}"),
                account.email.as_str(),
            ),
        })
    }

    /// Turns the second factor on once the app shows the current code.
    pub async fn confirm_two_step(&self, by: &OrgAdmin, code: &str) -> Result<(), ServiceError> {
        let admin = own_account(by)?;
        let AdminTotp::Pending(secret) = self.store().admin_totp(&by.org, admin).await? else {
            return Err(ServiceError::TwoStepState);
        };
        let step = totp::matching_step(&secret, code, now()).ok_or(ServiceError::WrongCode)?;
        if !self.store().enable_admin_totp(&by.org, admin, step).await? {
            return Err(ServiceError::TwoStepState);
        }
        let entry = audit::by_admin(
            by,
            AuditAction::AdminTwoStepOn,
            admin.as_str(),
            AuditDetail::None,
        );
        Ok(self.store().audit(&entry).await?)
    }

    /// Turns the second factor off, with a current code so that a session
    /// left open cannot remove it alone.
    pub async fn end_two_step(&self, by: &OrgAdmin, code: &str) -> Result<(), ServiceError> {
        let admin = own_account(by)?;
        self.second_factor(&by.org, admin, Some(code)).await?;
        self.store().disable_admin_totp(&by.org, admin).await?;
        let entry = audit::by_admin(
            by,
            AuditAction::AdminTwoStepOff,
            admin.as_str(),
            AuditDetail::None,
        );
        Ok(self.store().audit(&entry).await?)
    }

    /// Passes when the admin has no second factor, or `code` is its
    /// current code, not taken before.
    pub(crate) async fn second_factor(
        &self,
        org: &OrgId,
        admin: &AdminId,
        code: Option<&str>,
    ) -> Result<(), ServiceError> {
        let AdminTotp::On(secret) = self.store().admin_totp(org, admin).await? else {
            return Ok(());
        };
        let code = code
            .filter(|c| !c.trim().is_empty())
            .ok_or(ServiceError::CodeRequired)?;
        let step = totp::matching_step(&secret, code, now()).ok_or(ServiceError::WrongCode)?;
        if !self.store().take_admin_totp_step(admin, step).await? {
            return Err(ServiceError::WrongCode);
        }
        Ok(())
    }
}

fn own_account(by: &OrgAdmin) -> Result<&AdminId, ServiceError> {
    match &by.by {
        AdminCredential::Account(admin) => Ok(admin),
        AdminCredential::ApiKey(_) => Err(ServiceError::TwoStepState),
    }
}
