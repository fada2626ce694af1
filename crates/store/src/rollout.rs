//! The model rollout: which version enrolment uses, the transition during
//! which an older version is still matched, the renewal requests sent for
//! it, and the end of the transition, when the old vectors go.

use limen_domain::{ModelRollout, ModelVersion, OrgId, Person, PersonId, Transition, UnixTime};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::faces::delete_set;
use crate::people::{PERSON_COLUMNS, person_from_row};
use crate::store::{Store, StoreError, parse_col};

/// Why a version was not activated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationRefused {
    #[error("{0} is already the active model version")]
    AlreadyActive(ModelVersion),
    #[error(
        "the transition from {retiring} is still under way (until {ends_at}); end it first with `limen admin model end-transition`"
    )]
    TransitionUnderway {
        retiring: ModelVersion,
        ends_at: UnixTime,
    },
}

/// What the end of a transition deleted: the people who lost their old
/// vectors and now need to enrol again, with their organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedTransition {
    pub retired: ModelVersion,
    pub people: Vec<(OrgId, PersonId)>,
}

/// How many people of an organisation hold vectors of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionHolding {
    pub org_id: OrgId,
    pub model_version: ModelVersion,
    pub people: u64,
    pub vectors: u64,
}

/// An organisation's progress through the current transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenewalProgress {
    /// Enrolled with the active version since it was activated.
    pub renewed: u64,
    /// Still holding only vectors of the retiring version.
    pub pending: u64,
    /// Their old vectors were deleted when a transition ended; they have
    /// not enrolled since.
    pub expired: u64,
}

/// A renewal request due to a person.
#[derive(Debug, Clone)]
pub struct DueRenewal {
    pub person: Person,
    pub notice: u32,
}

impl Store {
    /// The rollout, or `None` before any instance started on this database.
    pub async fn model_rollout(&self) -> Result<Option<ModelRollout>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        read_rollout(&mut conn).await
    }

    /// The rollout and the number of the last face change committed
    /// ([`Store::face_change_head`]), in one read: what a door frame must
    /// know before its face is searched.
    pub async fn rollout_and_face_change_head(
        &self,
    ) -> Result<(Option<ModelRollout>, i64), StoreError> {
        let row = sqlx::query(
            "SELECT r.active, r.activated_at, r.retiring, r.transition_ends, r.reminders, h.seq \
             FROM face_change_head h LEFT JOIN model_rollout r ON r.id = 1 WHERE h.id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((rollout_from_row(&row)?, row.try_get("seq")?))
    }

    /// The rollout, written first if this database has none: a database
    /// that already holds vectors keeps the version most of them were made
    /// with (so upgrading Limen never strands anyone), a new one starts
    /// with `default`.
    pub async fn start_model_rollout(
        &self,
        default: &ModelVersion,
    ) -> Result<ModelRollout, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(rollout) = read_rollout(&mut tx).await? {
            tx.commit().await?;
            return Ok(rollout);
        }
        let held: Option<String> = sqlx::query(
            "SELECT model_version FROM face_vectors GROUP BY model_version ORDER BY COUNT(*) DESC, model_version LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
        let active = held.map_or_else(|| default.clone(), ModelVersion::new);
        sqlx::query(
            "INSERT INTO model_rollout (id, active, activated_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(active.as_str())
        .bind(limen_domain::now())
        .execute(&mut *tx)
        .await?;
        let rollout = read_rollout(&mut tx)
            .await?
            .ok_or(StoreError::Corrupt("model_rollout"))?;
        tx.commit().await?;
        Ok(rollout)
    }

    /// Makes `version` the one enrolment uses. The previous version stays
    /// matched until `ends_at` if anyone holds its vectors; `reminders` are
    /// seconds before the end. Refused while another transition lasts.
    pub async fn activate_model(
        &self,
        audit: &AuditRecord,
        version: &ModelVersion,
        at: UnixTime,
        ends_at: UnixTime,
        reminders: &[i64],
    ) -> Result<Result<ModelRollout, ActivationRefused>, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = read_rollout(&mut tx)
            .await?
            .ok_or(StoreError::Corrupt("model_rollout"))?;
        if &current.active == version {
            return Ok(Err(ActivationRefused::AlreadyActive(version.clone())));
        }
        if let Some(t) = current.transition {
            return Ok(Err(ActivationRefused::TransitionUnderway {
                retiring: t.retiring,
                ends_at: t.ends_at,
            }));
        }
        let held: i64 = sqlx::query("SELECT COUNT(*) FROM face_vectors WHERE model_version = $1")
            .bind(current.active.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let mut reminders = reminders.to_vec();
        reminders.sort_unstable_by(|a, b| b.cmp(a));
        let (retiring, ends) = if held > 0 {
            (Some(current.active.as_str()), Some(ends_at))
        } else {
            (None, None)
        };
        sqlx::query(
            "UPDATE model_rollout SET active = $1, activated_at = $2, retiring = $3, transition_ends = $4, reminders = $5 WHERE id = 1",
        )
        .bind(version.as_str())
        .bind(at)
        .bind(retiring)
        .bind(ends)
        .bind(
            reminders
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        )
        .execute(&mut *tx)
        .await?;
        let rollout = read_rollout(&mut tx)
            .await?
            .ok_or(StoreError::Corrupt("model_rollout"))?;
        self.commit_audited(tx, audit).await?;
        Ok(Ok(rollout))
    }

    /// Ends the transition if it is over at `at`, or at once if `early`
    /// (the operator's choice): in one transaction, every vector of the
    /// retiring version is deleted, its holders are marked as needing to
    /// enrol again, each is recorded as a face change, and the rollout
    /// forgets the old version, with `audit`'s entry for each holder. Killed
    /// half way, nothing of it happened.
    pub async fn end_model_transition(
        &self,
        audit: impl Fn(&OrgId, &PersonId, &ModelVersion) -> AuditRecord,
        at: UnixTime,
        early: bool,
    ) -> Result<Option<EndedTransition>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(rollout) = read_rollout(&mut tx).await? else {
            return Ok(None);
        };
        let Some(transition) = rollout
            .transition
            .as_ref()
            .filter(|_| early || rollout.transition_over(at))
        else {
            return Ok(None);
        };
        let retiring = transition.retiring.as_str();
        // People first, as every change to a face locks them, then their
        // vectors, then the change sequence: one order, no deadlock.
        let holders = sqlx::query(
            "SELECT DISTINCT p.id, p.org_id FROM people p JOIN face_vectors v ON v.person_id = p.id \
             WHERE v.model_version = $1 ORDER BY p.org_id, p.id",
        )
        .bind(retiring)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok((
                parse_col(row, "id", PersonId::parse)?,
                parse_col(row, "org_id", OrgId::parse)?,
            ))
        })
        .collect::<Result<Vec<(PersonId, OrgId)>, StoreError>>()?;
        for (person, _) in &holders {
            sqlx::query("UPDATE people SET renewal_needed_since = $1 WHERE id = $2")
                .bind(at)
                .bind(person.as_str())
                .execute(&mut *tx)
                .await?;
        }
        // Each holder's whole set is of the retiring version (a set is
        // replaced whole): it goes with its key, as on any deletion.
        for (person, _) in &holders {
            delete_set(&mut tx, person).await?;
        }
        for (person, org) in &holders {
            record_face_change(&mut tx, self.backend(), org, Some(person)).await?;
        }
        sqlx::query(
            "UPDATE model_rollout SET retiring = NULL, transition_ends = NULL, reminders = '' WHERE id = 1",
        )
        .execute(&mut *tx)
        .await?;
        let records: Vec<AuditRecord> = holders
            .iter()
            .map(|(person, org)| audit(org, person, &transition.retiring))
            .collect();
        self.commit_audited_all(tx, &records).await?;
        if !holders.is_empty() {
            self.shred_deleted().await;
        }
        Ok(Some(EndedTransition {
            retired: transition.retiring.clone(),
            people: holders.into_iter().map(|(p, o)| (o, p)).collect(),
        }))
    }

    /// Per organisation and version, how many people hold vectors and how
    /// many vectors they hold.
    pub async fn vectors_by_version(&self) -> Result<Vec<VersionHolding>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.org_id, v.model_version, COUNT(DISTINCT p.id) AS people, COUNT(*) AS vectors \
             FROM face_vectors v JOIN people p ON p.id = v.person_id \
             GROUP BY p.org_id, v.model_version ORDER BY p.org_id, v.model_version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(VersionHolding {
                    org_id: parse_col(row, "org_id", OrgId::parse)?,
                    model_version: ModelVersion::new(row.try_get::<String, _>("model_version")?),
                    people: count(row.try_get("people")?),
                    vectors: count(row.try_get("vectors")?),
                })
            })
            .collect()
    }

    /// Where `org`'s people stand in the current rollout.
    pub async fn renewal_progress(
        &self,
        org: &OrgId,
        rollout: &ModelRollout,
    ) -> Result<RenewalProgress, StoreError> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(DISTINCT p.id) FROM people p JOIN face_vectors v ON v.person_id = p.id \
                  WHERE p.org_id = $1 AND v.model_version = $2 AND v.enrolled_at >= $3) AS renewed, \
               (SELECT COUNT(DISTINCT p.id) FROM people p JOIN face_vectors v ON v.person_id = p.id \
                  WHERE p.org_id = $1 AND v.model_version = $4) AS pending, \
               (SELECT COUNT(*) FROM people p WHERE p.org_id = $1 AND p.renewal_needed_since IS NOT NULL \
                  AND NOT EXISTS (SELECT 1 FROM face_vectors v WHERE v.person_id = p.id)) AS expired",
        )
        .bind(org.as_str())
        .bind(rollout.active.as_str())
        .bind(rollout.activated_at)
        .bind(
            rollout
                .transition
                .as_ref()
                .map_or("", |t| t.retiring.as_str()),
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(RenewalProgress {
            renewed: count(row.try_get("renewed")?),
            pending: count(row.try_get("pending")?),
            expired: count(row.try_get("expired")?),
        })
    }

    /// The renewal requests due at `at`: everyone with an active consent
    /// who still holds only vectors of the retiring version and has not
    /// yet been sent this notice (or a later one).
    pub async fn due_renewals(
        &self,
        rollout: &ModelRollout,
        at: UnixTime,
    ) -> Result<Vec<DueRenewal>, StoreError> {
        let (Some(transition), Some(notice)) = (&rollout.transition, rollout.notice_due(at)) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM people p \
             WHERE EXISTS (SELECT 1 FROM face_vectors v WHERE v.person_id = p.id AND v.model_version = $1) \
               AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id AND c.withdrawn_at IS NULL) \
               AND NOT EXISTS (SELECT 1 FROM renewal_notices n WHERE n.person_id = p.id \
                                 AND n.model_version = $2 AND n.notice >= $3) \
             ORDER BY p.org_id, p.id"
        ))
        .bind(transition.retiring.as_str())
        .bind(rollout.active.as_str())
        .bind(i64::from(notice))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DueRenewal {
                    person: person_from_row(row)?,
                    notice,
                })
            })
            .collect()
    }

    /// Claims the sending of `notice` to `person` for `version`: true for
    /// the one caller that should send it.
    pub async fn claim_renewal_notice(
        &self,
        person: &PersonId,
        version: &ModelVersion,
        notice: u32,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO renewal_notices (person_id, model_version, notice, sent_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (person_id, model_version, notice) DO NOTHING",
        )
        .bind(person.as_str())
        .bind(version.as_str())
        .bind(i64::from(notice))
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Gives a claim back when its e-mail could not be sent, so it is
    /// tried again.
    pub async fn release_renewal_notice(
        &self,
        person: &PersonId,
        version: &ModelVersion,
        notice: u32,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM renewal_notices WHERE person_id = $1 AND model_version = $2 AND notice = $3",
        )
        .bind(person.as_str())
        .bind(version.as_str())
        .bind(i64::from(notice))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The renewal requests sent to a person: version, notice, when.
    pub async fn renewal_notices(
        &self,
        person: &PersonId,
    ) -> Result<Vec<(ModelVersion, u32, UnixTime)>, StoreError> {
        let rows = sqlx::query(
            "SELECT model_version, notice, sent_at FROM renewal_notices WHERE person_id = $1 ORDER BY sent_at, notice",
        )
        .bind(person.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let notice: i64 = row.try_get("notice")?;
                Ok((
                    ModelVersion::new(row.try_get::<String, _>("model_version")?),
                    u32::try_from(notice).map_err(|_| StoreError::Corrupt("notice"))?,
                    row.try_get("sent_at")?,
                ))
            })
            .collect()
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(crate) async fn read_rollout(
    conn: &mut AnyConnection,
) -> Result<Option<ModelRollout>, StoreError> {
    let row = sqlx::query(
        "SELECT active, activated_at, retiring, transition_ends, reminders FROM model_rollout WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => rollout_from_row(&row),
        None => Ok(None),
    }
}

/// The rollout in a row of `model_rollout`'s columns; `None` where they
/// are all null (an outer join that found no rollout).
fn rollout_from_row(row: &AnyRow) -> Result<Option<ModelRollout>, StoreError> {
    let Some(active) = row.try_get::<Option<String>, _>("active")? else {
        return Ok(None);
    };
    let retiring: Option<String> = row.try_get("retiring")?;
    let ends: Option<i64> = row.try_get("transition_ends")?;
    let reminders: String = row.try_get("reminders")?;
    let transition = match (retiring, ends) {
        (Some(retiring), Some(ends_at)) => Some(Transition {
            retiring: ModelVersion::new(retiring),
            ends_at,
            reminders: reminders
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| StoreError::Corrupt("reminders")))
                .collect::<Result<_, _>>()?,
        }),
        (None, None) => None,
        _ => return Err(StoreError::Corrupt("model_rollout")),
    };
    Ok(Some(ModelRollout {
        active: ModelVersion::new(active),
        activated_at: row.try_get("activated_at")?,
        transition,
    }))
}
