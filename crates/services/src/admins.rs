//! An organisation's admin accounts: invited by the operator or another
//! admin, registered with a password, signed in and out, removed. Admins
//! act through the same admin services as API keys, and the audit trail
//! names which admin acted.

use limen_domain::{
    Actor, AdminAccount, AdminCredential, AdminId, AuditAction, AuditDetail, EmailAddress,
    OrgAdmin, OrgId, Organisation, PersonName, UnixTime, now,
};
use limen_store::token::{new_token, token_hash};
use limen_store::{AuditRecord, Store};

use crate::accounts::{PASSWORD_RESET_SECS, hash_blocking, reset_error, whose_password};
use crate::error::ServiceError;
use crate::operator::Operator;
use crate::{Services, audit};

/// An invitation about to be sent: the link's token is in the e-mail and
/// nowhere else; only its hash is stored, once the e-mail is out.
pub struct AdminInvitation {
    pub email: EmailAddress,
    pub name: PersonName,
    pub organisation: Organisation,
    pub token: String,
    token_hash: [u8; 32],
    pub expires_at: UnixTime,
}

/// A signed-in admin. The token is shown this once; only its hash is stored.
pub struct AdminSession {
    pub admin: AdminAccount,
    pub org: OrgId,
    pub token: String,
    pub lifetime_secs: i64,
}

/// A link for a registered admin to choose a new password, about to be
/// e-mailed: its token is in the e-mail and nowhere else.
pub struct AdminPasswordReset {
    pub admin: AdminAccount,
    pub organisation: Organisation,
    pub token: String,
}

impl Services {
    /// Prepares an invitation for an admin of `by`'s organisation; send it,
    /// then [`Services::record_admin_invitation`].
    pub async fn new_admin_invitation(
        &self,
        by: &OrgAdmin,
        email: EmailAddress,
        name: PersonName,
    ) -> Result<AdminInvitation, ServiceError> {
        new_admin_invitation(
            self.store(),
            &by.org,
            email,
            name,
            self.retention().invitation_days,
        )
        .await
    }

    /// Stores an invitation whose e-mail is out, replacing an earlier one.
    pub async fn record_admin_invitation(
        &self,
        by: &OrgAdmin,
        invitation: &AdminInvitation,
    ) -> Result<AdminAccount, ServiceError> {
        record_admin_invitation(self.store(), invitation, |admin| {
            audit::by_admin(
                by,
                AuditAction::AdminInvited,
                admin.id.as_str(),
                AuditDetail::None,
            )
        })
        .await
    }

    /// The admin a still-valid invitation is for, without using it up.
    pub async fn admin_invitation_for(
        &self,
        token: &str,
    ) -> Result<(OrgId, AdminAccount), ServiceError> {
        Ok(self.store().admin_invitation(&token_hash(token)).await?)
    }

    /// Uses up an invitation and sets the admin's password.
    pub async fn register_admin(
        &self,
        token: &str,
        password: &str,
    ) -> Result<AdminAccount, ServiceError> {
        let hash = token_hash(token);
        let (org, admin) = self.store().admin_invitation(&hash).await?;
        self.check_new_password_of(&admin.email, &org, password)
            .await?;
        let password_hash = hash_blocking(password).await?;
        let (_, admin) = self
            .store()
            .redeem_admin_invitation(
                |org, admin| admin_entry(org, &admin.id, AuditAction::AdminRegistered),
                &hash,
                &password_hash,
            )
            .await?;
        Ok(admin)
    }

    /// New links to choose a password, one for each registered admin with
    /// this address (one per organisation), replacing earlier links; none
    /// for an address without one. As for employees, rate limits and not
    /// telling which it was are the caller's.
    pub async fn request_admin_password_reset(
        &self,
        email: &EmailAddress,
    ) -> Result<Vec<AdminPasswordReset>, ServiceError> {
        let mut resets = Vec::new();
        for login in self.store().admin_logins(email).await? {
            let (token, hash) = new_token();
            let entry = admin_entry(
                &login.org,
                &login.admin.id,
                AuditAction::AdminPasswordResetRequested,
            );
            self.store()
                .replace_admin_password_reset(
                    &entry,
                    &login.admin.id,
                    &hash,
                    now() + PASSWORD_RESET_SECS,
                )
                .await?;
            let organisation = self
                .store()
                .organisation(&login.org)
                .await?
                .ok_or(ServiceError::UnknownOrganisation)?;
            resets.push(AdminPasswordReset {
                admin: login.admin,
                organisation,
                token,
            });
        }
        Ok(resets)
    }

    /// The admin a still-valid password link is for, without using it up.
    pub async fn admin_password_reset_for(
        &self,
        token: &str,
    ) -> Result<(OrgId, AdminAccount), ServiceError> {
        self.store()
            .admin_password_reset(&token_hash(token))
            .await
            .map_err(reset_error)
    }

    /// Uses up an admin's password link: the new password (checked as at
    /// registration) replaces the old one and every session of the admin
    /// ends. A second factor stays on.
    pub async fn reset_admin_password(
        &self,
        token: &str,
        new: &str,
    ) -> Result<AdminAccount, ServiceError> {
        let hash = token_hash(token);
        let (org, admin) = self
            .store()
            .admin_password_reset(&hash)
            .await
            .map_err(reset_error)?;
        self.check_new_password_of(&admin.email, &org, new).await?;
        let password_hash = hash_blocking(new).await?;
        let (_, admin) = self
            .store()
            .redeem_admin_password_reset(
                |org, admin| admin_entry(org, &admin.id, AuditAction::AdminPasswordReset),
                &hash,
                &password_hash,
            )
            .await
            .map_err(reset_error)?;
        Ok(admin)
    }

    /// Checks e-mail and password, and the authenticator app's code of an
    /// admin who set one up, and opens a session. Rate limits are the
    /// caller's, as for employees.
    pub async fn admin_log_in(
        &self,
        email: &EmailAddress,
        password: &str,
        code: Option<&str>,
    ) -> Result<AdminSession, ServiceError> {
        let candidates = self.store().admin_logins(email).await?;
        let tried: Vec<(OrgId, AdminId)> = candidates
            .iter()
            .map(|c| (c.org.clone(), c.admin.id.clone()))
            .collect();
        let candidates = candidates
            .into_iter()
            .map(|c| ((c.org, c.admin), c.password_hash))
            .collect();
        let matched = whose_password(candidates, password).await?;
        let Some((org, admin)) = matched else {
            for (org, admin) in &tried {
                self.audit_failed_admin_login(org, admin).await?;
            }
            return Err(ServiceError::WrongCredentials);
        };
        if let Err(e) = self.second_factor(&org, &admin.id, code).await {
            if matches!(e, ServiceError::WrongCode) {
                self.audit_failed_admin_login(&org, &admin.id).await?;
            }
            return Err(e);
        }
        let (token, hash) = new_token();
        let lifetime_secs = i64::from(self.retention().session_hours) * 3600;
        self.store()
            .create_admin_session(&admin.id, &hash, now() + lifetime_secs)
            .await?;
        Ok(AdminSession {
            admin,
            org,
            token,
            lifetime_secs,
        })
    }

    async fn audit_failed_admin_login(
        &self,
        org: &OrgId,
        admin: &AdminId,
    ) -> Result<(), ServiceError> {
        let entry = audit::entry(
            org.as_str(),
            &Actor::Anonymous,
            AuditAction::AdminLoginFailed,
            admin.as_str(),
            AuditDetail::None,
        );
        Ok(self.store().audit(&entry).await?)
    }

    pub async fn end_admin_session(&self, token: &str) -> Result<(), ServiceError> {
        Ok(self
            .store()
            .delete_admin_session(&token_hash(token))
            .await?)
    }

    /// The admin a bearer token lets in: an API key, or an admin's session.
    pub async fn admin_for_bearer(&self, token: &str) -> Result<Option<OrgAdmin>, ServiceError> {
        let hash = token_hash(token);
        if let Some(admin) = self.store().admin_for_api_key(&hash).await? {
            return Ok(Some(admin));
        }
        Ok(self.store().admin_for_session(&hash).await?)
    }

    pub async fn admins(&self, org: &OrgId) -> Result<Vec<AdminAccount>, ServiceError> {
        Ok(self.store().admins(org).await?)
    }

    /// Removes an admin of `by`'s organisation (themselves too) and ends
    /// their sessions; false when it has no such admin.
    pub async fn remove_admin(&self, by: &OrgAdmin, admin: &AdminId) -> Result<bool, ServiceError> {
        let entry = audit::by_admin(
            by,
            AuditAction::AdminRemoved,
            admin.as_str(),
            AuditDetail::None,
        );
        Ok(self.store().remove_admin(&entry, &by.org, admin).await?)
    }
}

impl Operator {
    /// Prepares an invitation for an organisation's admin, as
    /// [`Services::new_admin_invitation`] does for an admin.
    pub async fn new_admin_invitation(
        &self,
        org: &OrgId,
        email: EmailAddress,
        name: PersonName,
        invitation_days: u32,
    ) -> Result<AdminInvitation, ServiceError> {
        new_admin_invitation(self.store(), org, email, name, invitation_days).await
    }

    pub async fn record_admin_invitation(
        &self,
        invitation: &AdminInvitation,
    ) -> Result<AdminAccount, ServiceError> {
        let org = invitation.organisation.id.clone();
        record_admin_invitation(self.store(), invitation, |admin| {
            audit::by_operator(
                AuditAction::AdminInvited,
                &org,
                AuditDetail::Admin {
                    admin: admin.id.clone(),
                },
            )
        })
        .await
    }
}

async fn new_admin_invitation(
    store: &Store,
    org: &OrgId,
    email: EmailAddress,
    name: PersonName,
    invitation_days: u32,
) -> Result<AdminInvitation, ServiceError> {
    let organisation = store
        .organisation(org)
        .await?
        .ok_or(ServiceError::UnknownOrganisation)?;
    let registered = store
        .admins(org)
        .await?
        .iter()
        .any(|a| a.email == email && a.registered_at.is_some());
    if registered {
        return Err(ServiceError::AdminExists);
    }
    let (token, token_hash) = new_token();
    Ok(AdminInvitation {
        email,
        name,
        organisation,
        token,
        token_hash,
        expires_at: now() + i64::from(invitation_days) * 86_400,
    })
}

async fn record_admin_invitation(
    store: &Store,
    invitation: &AdminInvitation,
    entry: impl FnOnce(&AdminAccount) -> AuditRecord,
) -> Result<AdminAccount, ServiceError> {
    store
        .invite_admin(
            entry,
            &invitation.organisation.id,
            &invitation.email,
            &invitation.name,
            &invitation.token_hash,
            invitation.expires_at,
        )
        .await?
        .ok_or(ServiceError::AdminExists)
}

/// An admin's own action on their account, in their organisation's chain.
fn admin_entry(org: &OrgId, admin: &AdminId, action: AuditAction) -> AuditRecord {
    audit::by_admin(
        &OrgAdmin {
            org: org.clone(),
            by: AdminCredential::Account(admin.clone()),
        },
        action,
        admin.as_str(),
        AuditDetail::None,
    )
}
