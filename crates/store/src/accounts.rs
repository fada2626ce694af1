//! Invitations, accounts, sessions, and cancelling a registration.

use limen_domain::{EmailAddress, OrgId, Person, PersonId, UnixTime, now};
use sqlx::{AnyConnection, Row};

use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::people::{PERSON_COLUMNS, person_from_row};
use crate::store::{Store, StoreError, lock_person};

/// The single-use links sent by e-mail, each a table of token hashes.
#[derive(Debug, Clone, Copy)]
enum Link {
    Invitation,
    PasswordReset,
}

impl Link {
    fn table(self) -> &'static str {
        match self {
            Link::Invitation => "invitations",
            Link::PasswordReset => "password_resets",
        }
    }
}

/// Replaces the person's link of `kind` (in a transaction that holds the
/// person's lock).
async fn replace_link(
    tx: &mut AnyConnection,
    kind: Link,
    person: &PersonId,
    token_hash: &[u8],
    expires_at: UnixTime,
) -> Result<(), StoreError> {
    let table = kind.table();
    sqlx::query(&format!("DELETE FROM {table} WHERE person_id = $1"))
        .bind(person.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO {table} (token_hash, person_id, expires_at) VALUES ($1, $2, $3)"
    ))
    .bind(token_hash.to_vec())
    .bind(person.as_str())
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Uses up a still-valid link of `kind` and returns its person; a refused
/// link is left in place (the transaction is not committed).
async fn take_link(
    tx: &mut AnyConnection,
    kind: Link,
    token_hash: &[u8],
) -> Result<Person, RedeemError> {
    let row = sqlx::query(&format!(
        "DELETE FROM {} WHERE token_hash = $1 RETURNING person_id, expires_at",
        kind.table()
    ))
    .bind(token_hash.to_vec())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(RedeemError::Unknown)?;
    let expires_at: i64 = row.try_get("expires_at")?;
    if expires_at <= now() {
        return Err(RedeemError::Expired);
    }
    let person_id: String = row.try_get("person_id")?;
    let person = sqlx::query(&format!(
        "SELECT {PERSON_COLUMNS} FROM people p WHERE p.id = $1"
    ))
    .bind(&person_id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(person_from_row(&person)?)
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error(
        "this registration link is not valid: it may have been used already or replaced by a newer one"
    )]
    Unknown,
    #[error("this registration link has expired; ask your organisation to send a new invitation")]
    Expired,
    #[error("this person is already registered")]
    AlreadyRegistered,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RedeemError {
    fn from(e: sqlx::Error) -> Self {
        RedeemError::Store(e.into())
    }
}

impl Store {
    /// Records a new invitation, replacing (and so invalidating) any earlier one.
    pub async fn replace_invitation(
        &self,
        audit: &AuditRecord,
        org: &OrgId,
        person: &PersonId,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, org, person).await? {
            return Err(StoreError::UnknownPerson);
        }
        replace_link(&mut tx, Link::Invitation, person, token_hash, expires_at).await?;
        sqlx::query("UPDATE people SET invited_at = $2 WHERE id = $1")
            .bind(person.as_str())
            .bind(now())
            .execute(&mut *tx)
            .await?;
        self.commit_audited(tx, audit).await?;
        Ok(())
    }

    /// The person a still-valid invitation is for, without using it up.
    pub async fn invitation(&self, token_hash: &[u8]) -> Result<Person, RedeemError> {
        self.linked_person(Link::Invitation, token_hash).await
    }

    /// Uses up an invitation and creates the account it was for, recorded
    /// as `audit` makes it for that person.
    pub async fn redeem_invitation(
        &self,
        audit: impl FnOnce(&Person) -> AuditRecord,
        token_hash: &[u8],
        password_hash: &str,
    ) -> Result<Person, RedeemError> {
        let mut tx = self.begin_write().await?;
        let person = take_link(&mut tx, Link::Invitation, token_hash).await?;
        let person_id = person.id.as_str();
        let created = sqlx::query(
            "INSERT INTO accounts (person_id, password_hash, registered_at) VALUES ($1, $2, $3) ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(person_id)
        .bind(password_hash)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created == 0 {
            return Err(RedeemError::AlreadyRegistered);
        }
        self.commit_audited(tx, &audit(&person)).await?;
        Ok(person)
    }

    /// Registered people with this e-mail address (one per organisation
    /// that imported it), with their password hashes.
    pub async fn accounts_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Vec<(Person, String)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS}, a.password_hash FROM people p JOIN accounts a ON a.person_id = p.id WHERE p.email = $1"
        ))
        .bind(email.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((person_from_row(row)?, row.try_get("password_hash")?)))
            .collect()
    }

    pub async fn password_hash(&self, person: &Person) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT a.password_hash FROM accounts a JOIN people p ON p.id = a.person_id WHERE p.org_id = $1 AND p.id = $2",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
    }

    /// Sets a new password and ends every session but `keep_session`.
    pub async fn change_password(
        &self,
        audit: &AuditRecord,
        person: &Person,
        password_hash: &str,
        keep_session: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        sqlx::query("UPDATE accounts SET password_hash = $2 WHERE person_id = $1")
            .bind(person.id.as_str())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE person_id = $1 AND token_hash <> $2")
            .bind(person.id.as_str())
            .bind(keep_session.to_vec())
            .execute(&mut *tx)
            .await?;
        self.commit_audited(tx, audit).await?;
        Ok(())
    }

    // ----- password resets -----------------------------------------------

    /// Records a link to choose a new password, replacing (and so
    /// invalidating) any earlier one of the person.
    pub async fn replace_password_reset(
        &self,
        audit: &AuditRecord,
        person: &Person,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        replace_link(
            &mut tx,
            Link::PasswordReset,
            &person.id,
            token_hash,
            expires_at,
        )
        .await?;
        self.commit_audited(tx, audit).await?;
        Ok(())
    }

    /// The person a still-valid password link is for, without using it up.
    pub async fn password_reset(&self, token_hash: &[u8]) -> Result<Person, RedeemError> {
        self.linked_person(Link::PasswordReset, token_hash).await
    }

    /// Uses up a password link: sets the new password and ends every
    /// session of the person, recorded as `audit` makes it.
    pub async fn redeem_password_reset(
        &self,
        audit: impl FnOnce(&Person) -> AuditRecord,
        token_hash: &[u8],
        password_hash: &str,
    ) -> Result<Person, RedeemError> {
        let mut tx = self.begin_write().await?;
        let person = take_link(&mut tx, Link::PasswordReset, token_hash).await?;
        let changed = sqlx::query("UPDATE accounts SET password_hash = $2 WHERE person_id = $1")
            .bind(person.id.as_str())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            // The registration was cancelled meanwhile.
            return Err(RedeemError::Unknown);
        }
        sqlx::query("DELETE FROM sessions WHERE person_id = $1")
            .bind(person.id.as_str())
            .execute(&mut *tx)
            .await?;
        self.commit_audited(tx, &audit(&person)).await?;
        Ok(person)
    }

    /// The person a still-valid link of `kind` is for.
    async fn linked_person(&self, kind: Link, token_hash: &[u8]) -> Result<Person, RedeemError> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS}, l.expires_at FROM {} l JOIN people p ON p.id = l.person_id WHERE l.token_hash = $1",
            kind.table()
        ))
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(RedeemError::Unknown)?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= now() {
            return Err(RedeemError::Expired);
        }
        Ok(person_from_row(&row)?)
    }

    // ----- sessions ------------------------------------------------------

    pub async fn create_session(
        &self,
        person: &Person,
        token_hash: &[u8],
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash.to_vec())
            .bind(person.id.as_str())
            .bind(now())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The person a live session belongs to (only while they have an account).
    pub async fn session_person(&self, token_hash: &[u8]) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM sessions s JOIN people p ON p.id = s.person_id \
             JOIN accounts a ON a.person_id = p.id WHERE s.token_hash = $1 AND s.expires_at > $2"
        ))
        .bind(token_hash.to_vec())
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Cancels the registration: account, sessions, consents and vector are
    /// erased; the person stays imported, and a dated record that they
    /// cancelled is kept as proof. Recorded as a face change.
    pub async fn cancel_registration(
        &self,
        audit: &AuditRecord,
        person: &Person,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        for statement in [
            "DELETE FROM face_vectors WHERE person_id = $1",
            "DELETE FROM vector_keys WHERE person_id = $1",
            "DELETE FROM consents WHERE person_id = $1",
            "DELETE FROM sessions WHERE person_id = $1",
            "DELETE FROM accounts WHERE person_id = $1",
            "DELETE FROM invitations WHERE person_id = $1",
            "DELETE FROM password_resets WHERE person_id = $1",
            "UPDATE people SET invited_at = NULL WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(person.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO cancellations (org_id, person_id, cancelled_at) VALUES ($1, $2, $3)",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        record_face_change(&mut tx, self.backend(), &person.org_id, Some(&person.id)).await?;
        self.commit_audited(tx, audit).await?;
        self.shred_deleted().await;
        Ok(())
    }

    pub async fn cancellations(&self, person: &Person) -> Result<Vec<UnixTime>, StoreError> {
        let rows = sqlx::query("SELECT cancelled_at FROM cancellations WHERE org_id = $1 AND person_id = $2 ORDER BY cancelled_at")
            .bind(person.org_id.as_str())
            .bind(person.id.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }
}
