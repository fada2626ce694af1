//! The change sequence of faces: every change to what an in-memory gallery
//! must hold (a person's vectors or consent, a person or an organisation
//! erased) is numbered and recorded in the transaction that makes it.
//!
//! The numbers come from one counter row that each change increments, so
//! writers are ordered by that row's lock and the sequence has no gaps and
//! follows commit order: an instance that has applied every change up to
//! the head holds what the store holds. On PostgreSQL each change is also
//! announced with `NOTIFY` at its commit, carrying only its number.

use limen_domain::{OrgId, PersonId, UnixTime, now};
use sqlx::postgres::PgListener;
use sqlx::{AnyConnection, Row};

use crate::store::{Backend, Store, StoreError, parse_col};

/// The PostgreSQL channel changes are announced on.
pub const FACE_CHANGES_CHANNEL: &str = "limen_face_changes";

/// One recorded change: ids only, never a vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceChange {
    pub seq: i64,
    pub org_id: OrgId,
    /// `None`: the whole organisation was deleted.
    pub person_id: Option<PersonId>,
}

/// Numbers and records a change as part of the caller's transaction. Call
/// it last before the commit: the counter row stays locked until then.
pub(crate) async fn record_face_change(
    conn: &mut AnyConnection,
    backend: Backend,
    org: &OrgId,
    person: Option<&PersonId>,
) -> Result<i64, StoreError> {
    let seq: i64 =
        sqlx::query("UPDATE face_change_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
    sqlx::query("INSERT INTO face_changes (seq, org_id, person_id, at) VALUES ($1, $2, $3, $4)")
        .bind(seq)
        .bind(org.as_str())
        .bind(person.map(|p| p.as_str().to_owned()))
        .bind(now())
        .execute(&mut *conn)
        .await?;
    if backend == Backend::Postgres {
        // Delivered to every listener when (and only if) the transaction commits.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(FACE_CHANGES_CHANNEL)
            .bind(seq.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(seq)
}

impl Store {
    /// The number of the last change committed (0 before the first): one
    /// row read by primary key, cheap enough to ask before every frame.
    pub async fn face_change_head(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT seq FROM face_change_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Up to `limit` changes after `seq`, in order.
    pub async fn face_changes_after(
        &self,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<FaceChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, org_id, person_id FROM face_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let person: Option<String> = row.try_get("person_id")?;
                Ok(FaceChange {
                    seq: row.try_get("seq")?,
                    org_id: parse_col(row, "org_id", OrgId::parse)?,
                    person_id: person
                        .map(|p| PersonId::parse(&p).map_err(|_| StoreError::Corrupt("person_id")))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Forgets changes recorded before `before`: an instance that lagged
    /// further behind finds a gap and loads its galleries afresh.
    pub async fn prune_face_changes(&self, before: UnixTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM face_changes WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// A connection of its own that hears every change announced from now
    /// on; `None` on SQLite, which announces nothing (one instance only).
    pub async fn listen_face_changes(&self) -> Result<Option<FaceChangeListener>, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(FACE_CHANGES_CHANNEL).await?;
        Ok(Some(FaceChangeListener { listener }))
    }
}

/// Announcements of face changes on PostgreSQL.
pub struct FaceChangeListener {
    listener: PgListener,
}

impl FaceChangeListener {
    /// Waits until a change is announced, or until the connection was lost
    /// and made again (announcements in between are lost: the caller must
    /// catch up from the sequence either way). An error means the
    /// connection is gone for good; listen again.
    pub async fn changed(&mut self) -> Result<(), StoreError> {
        self.listener.try_recv().await?;
        Ok(())
    }
}
