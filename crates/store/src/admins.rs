//! An organisation's admin accounts: invitations (kept as the link's hash
//! until used), registration, and sessions.

use limen_domain::{
    Actor, AdminAccount, AdminCredential, AdminId, EmailAddress, OrgAdmin, OrgId, PersonName,
    UnixTime, now,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::RedeemError;
use crate::audit::AuditRecord;
use crate::store::{Store, StoreError, parse_col};

const ADMIN_COLUMNS: &str = "a.id, a.org_id, a.email, a.name, a.invited_at, a.registered_at";

/// A registered admin who may sign in, with their password's hash.
pub struct AdminLogin {
    pub org: OrgId,
    pub admin: AdminAccount,
    pub password_hash: String,
}

impl Store {
    /// Invites an admin to the organisation, or invites again one who has
    /// not registered yet (the earlier link stops working). `None` when a
    /// registered admin of the organisation has that address.
    pub async fn invite_admin(
        &self,
        audit: impl FnOnce(&AdminAccount) -> AuditRecord,
        org: &OrgId,
        email: &EmailAddress,
        name: &PersonName,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<Option<AdminAccount>, StoreError> {
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query(&format!(
            "SELECT {ADMIN_COLUMNS} FROM admins a WHERE a.org_id = $1 AND a.email = $2"
        ))
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| admin_from_row(&row))
        .transpose()?;
        let invited_at = now();
        let admin = match existing {
            Some(admin) if admin.registered_at.is_some() => return Ok(None),
            Some(admin) => {
                sqlx::query(
                    "UPDATE admins SET name = $1, invited_at = $2, invitation_hash = $3, invitation_expires_at = $4 WHERE id = $5",
                )
                .bind(name.as_str())
                .bind(invited_at)
                .bind(token_hash.to_vec())
                .bind(expires_at)
                .bind(admin.id.as_str())
                .execute(&mut *tx)
                .await?;
                AdminAccount {
                    name: name.clone(),
                    invited_at,
                    ..admin
                }
            }
            None => {
                let admin = AdminAccount {
                    id: AdminId::generate(),
                    email: email.clone(),
                    name: name.clone(),
                    invited_at,
                    registered_at: None,
                };
                sqlx::query(
                    "INSERT INTO admins (id, org_id, email, name, invited_at, invitation_hash, invitation_expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(admin.id.as_str())
                .bind(org.as_str())
                .bind(admin.email.as_str())
                .bind(admin.name.as_str())
                .bind(invited_at)
                .bind(token_hash.to_vec())
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                admin
            }
        };
        self.commit_audited(tx, &audit(&admin)).await?;
        Ok(Some(admin))
    }

    /// The admin a still-valid invitation is for, without using it up.
    pub async fn admin_invitation(
        &self,
        token_hash: &[u8],
    ) -> Result<(OrgId, AdminAccount), RedeemError> {
        linked_admin(&self.pool, AdminLink::Invitation, token_hash).await
    }

    /// Uses up an admin's invitation and sets their password, recorded as
    /// `audit` makes it.
    pub async fn redeem_admin_invitation(
        &self,
        audit: impl FnOnce(&OrgId, &AdminAccount) -> AuditRecord,
        token_hash: &[u8],
        password_hash: &str,
    ) -> Result<(OrgId, AdminAccount), RedeemError> {
        let mut tx = self.begin_write().await?;
        let (org, mut admin) = linked_admin(&mut *tx, AdminLink::Invitation, token_hash).await?;
        if admin.registered_at.is_some() {
            return Err(RedeemError::AlreadyRegistered);
        }
        let registered_at = now();
        sqlx::query(
            "UPDATE admins SET password_hash = $1, registered_at = $2, invitation_hash = NULL, invitation_expires_at = NULL WHERE id = $3",
        )
        .bind(password_hash)
        .bind(registered_at)
        .bind(admin.id.as_str())
        .execute(&mut *tx)
        .await?;
        admin.registered_at = Some(registered_at);
        self.commit_audited(tx, &audit(&org, &admin)).await?;
        Ok((org, admin))
    }

    /// Registered admins with this address (one per organisation at most).
    pub async fn admin_logins(&self, email: &EmailAddress) -> Result<Vec<AdminLogin>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ADMIN_COLUMNS}, a.password_hash FROM admins a WHERE a.email = $1 AND a.password_hash IS NOT NULL"
        ))
        .bind(email.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AdminLogin {
                org: parse_col(row, "org_id", OrgId::parse)?,
                admin: admin_from_row(row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .collect()
    }

    pub async fn create_admin_session(
        &self,
        admin: &AdminId,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, admin_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_vec())
        .bind(admin.as_str())
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The admin a live session (given as its token's hash) belongs to.
    pub async fn admin_for_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<OrgAdmin>, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.org_id FROM admin_sessions s JOIN admins a ON a.id = s.admin_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash.to_vec())
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(OrgAdmin {
                org: parse_col(&row, "org_id", OrgId::parse)?,
                by: AdminCredential::Account(parse_col(&row, "id", AdminId::parse)?),
            })
        })
        .transpose()
    }

    pub async fn delete_admin_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The organisation's admins, invited ones included, in the order
    /// they were first invited.
    pub async fn admins(&self, org: &OrgId) -> Result<Vec<AdminAccount>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ADMIN_COLUMNS} FROM admins a WHERE a.org_id = $1 ORDER BY a.invited_at, a.email"
        ))
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(admin_from_row)
        .collect()
    }

    /// Records a link for a registered admin to choose a new password,
    /// replacing (and so invalidating) any earlier one: the employees'
    /// table, owned by the admin.
    pub async fn replace_admin_password_reset(
        &self,
        audit: &AuditRecord,
        admin: &AdminId,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM password_resets WHERE admin_id = $1")
            .bind(admin.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, admin_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash.to_vec())
        .bind(admin.as_str())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        self.commit_audited(tx, audit).await?;
        Ok(())
    }

    /// The admin a still-valid password link is for, without using it up.
    pub async fn admin_password_reset(
        &self,
        token_hash: &[u8],
    ) -> Result<(OrgId, AdminAccount), RedeemError> {
        linked_admin(&self.pool, AdminLink::PasswordReset, token_hash).await
    }

    /// Uses up an admin's password link: sets the new password and ends
    /// every session of the admin, recorded as `audit` makes it. A second
    /// factor stays as it was: signing in still asks for its code.
    pub async fn redeem_admin_password_reset(
        &self,
        audit: impl FnOnce(&OrgId, &AdminAccount) -> AuditRecord,
        token_hash: &[u8],
        password_hash: &str,
    ) -> Result<(OrgId, AdminAccount), RedeemError> {
        let mut tx = self.begin_write().await?;
        let (org, admin) = linked_admin(&mut *tx, AdminLink::PasswordReset, token_hash).await?;
        sqlx::query("DELETE FROM password_resets WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE admins SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(admin.id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
            .bind(admin.id.as_str())
            .execute(&mut *tx)
            .await?;
        self.commit_audited(tx, &audit(&org, &admin)).await?;
        Ok((org, admin))
    }

    /// Removes an admin, ends their sessions and revokes the API keys they
    /// made; false when `org` has no such admin.
    pub async fn remove_admin(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        admin: &AdminId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM admin_sessions WHERE admin_id IN (SELECT id FROM admins WHERE id = $1 AND org_id = $2)",
        )
        .bind(admin.as_str())
        .bind(org.as_str())
        .execute(&mut *tx)
        .await?;
        // The keys they made go with them: a removed admin keeps no way in.
        sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND created_by = $2")
            .bind(org.as_str())
            .bind(Actor::Admin(admin.clone()).to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM password_resets WHERE admin_id IN (SELECT id FROM admins WHERE id = $1 AND org_id = $2)",
        )
        .bind(admin.as_str())
        .bind(org.as_str())
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query("DELETE FROM admins WHERE id = $1 AND org_id = $2")
            .bind(admin.as_str())
            .bind(org.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }
}

/// An admin's link: their invitation, kept on their row, or a password
/// link, kept with the employees'.
#[derive(Clone, Copy)]
enum AdminLink {
    Invitation,
    PasswordReset,
}

impl AdminLink {
    /// The link's expiry and where its hash is, for the admin `a`.
    fn expiry_and_source(self) -> &'static str {
        match self {
            AdminLink::Invitation => {
                "a.invitation_expires_at AS expires_at FROM admins a WHERE a.invitation_hash = $1"
            }
            AdminLink::PasswordReset => {
                "r.expires_at FROM password_resets r JOIN admins a ON a.id = r.admin_id \
                 WHERE r.token_hash = $1 AND a.password_hash IS NOT NULL"
            }
        }
    }
}

/// The admin a still-valid link of `kind` (given as its hash) is for.
async fn linked_admin<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    kind: AdminLink,
    token_hash: &[u8],
) -> Result<(OrgId, AdminAccount), RedeemError> {
    let row = sqlx::query(&format!(
        "SELECT {ADMIN_COLUMNS}, {}",
        kind.expiry_and_source()
    ))
    .bind(token_hash.to_vec())
    .fetch_optional(executor)
    .await?
    .ok_or(RedeemError::Unknown)?;
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    if expires_at.is_none_or(|at| at <= now()) {
        return Err(RedeemError::Expired);
    }
    Ok((
        parse_col(&row, "org_id", OrgId::parse)?,
        admin_from_row(&row)?,
    ))
}

fn admin_from_row(row: &AnyRow) -> Result<AdminAccount, StoreError> {
    Ok(AdminAccount {
        id: parse_col(row, "id", AdminId::parse)?,
        email: parse_col(row, "email", EmailAddress::parse)?,
        name: parse_col(row, "name", PersonName::parse)?,
        invited_at: row.try_get("invited_at")?,
        registered_at: row.try_get("registered_at")?,
    })
}
