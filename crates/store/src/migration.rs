//! Vectors migrated in place: where a model version only transforms
//! another version's vectors (a scoring back-end), each person's stored
//! set is read, transformed and written back as the new version, in one
//! transaction per person, so that nobody is ever half migrated.

use limen_domain::{FaceVector, ModelVersion, OrgId, Person, PersonId};
use sqlx::Row;

use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::faces::open_vector;
use crate::store::{Store, StoreError, lock_person, parse_col};

impl Store {
    /// Up to `limit` people who hold a set of `version`, as
    /// (organisation, person) ids.
    pub async fn holders_of(
        &self,
        version: &ModelVersion,
        limit: usize,
    ) -> Result<Vec<(OrgId, PersonId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT p.org_id, p.id FROM face_vectors v JOIN people p ON p.id = v.person_id \
             WHERE v.model_version = $1 ORDER BY p.org_id, p.id LIMIT $2",
        )
        .bind(version.as_str())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_col(row, "org_id", OrgId::parse)?,
                    parse_col(row, "id", PersonId::parse)?,
                ))
            })
            .collect()
    }

    /// Replaces `person`'s set of `from` vectors by the vectors `derive`
    /// makes of them, as `to`, keeping their enrolment time, under a new
    /// key of the set; `audit` is recorded with it. `false`, and nothing
    /// done, when the person holds no set of `from` any more (they renewed
    /// or withdrew meanwhile, or another run migrated them). `derive`
    /// answering `None` for a vector (a length the transform does not
    /// take) stops the migration of that person with an error.
    pub async fn migrate_vectors(
        &self,
        audit: &AuditRecord,
        person: &Person,
        from: &ModelVersion,
        to: &ModelVersion,
        derive: impl Fn(&FaceVector) -> Option<FaceVector>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Ok(false);
        }
        let rows = sqlx::query(
            "SELECT v.model_version, v.sealed, v.enrolled_at, k.wrapped FROM face_vectors v \
             JOIN vector_keys k ON k.person_id = v.person_id WHERE v.person_id = $1 ORDER BY v.slot",
        )
        .bind(person.id.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let holds_from = !rows.is_empty()
            && rows.iter().all(|row| {
                row.try_get::<String, _>("model_version").ok().as_deref() == Some(from.as_str())
            });
        if !holds_from {
            return Ok(false);
        }
        if let Some(rollout) = crate::rollout::read_rollout(&mut tx).await?
            && !rollout.in_use().contains(&to)
        {
            return Err(StoreError::ModelNotInUse);
        }
        let key = self
            .data_key(&mut tx, &person.org_id)
            .await?
            .unwrap_key(
                &rows[0].try_get::<Vec<u8>, _>("wrapped")?,
                &crate::faces::vector_key_context(&person.org_id, &person.id),
            )
            .map_err(|_| StoreError::Corrupt("vector key"))?;
        let enrolled_at = rows[0].try_get("enrolled_at")?;
        let mut derived = Vec::with_capacity(rows.len());
        for row in &rows {
            let stored = open_vector(
                &key,
                &row.try_get::<Vec<u8>, _>("sealed")?,
                &person.org_id,
                &person.id,
                from,
            )?;
            derived.push(derive(&stored).ok_or(StoreError::InvalidVectorSet)?);
        }
        self.write_set(&mut tx, person, to, &derived, enrolled_at)
            .await?;
        record_face_change(&mut tx, self.backend(), &person.org_id, Some(&person.id)).await?;
        self.commit_audited(tx, audit).await?;
        self.shred_deleted().await;
        Ok(true)
    }
}
