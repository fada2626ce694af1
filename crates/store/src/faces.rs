//! Face vectors: a person's set of up to [`MAX_VECTORS_PER_PERSON`]
//! vectors, each sealed with the organisation's data key and tagged with
//! the model that made it, stored only while the person consents (see
//! `consents.rs`). Every change to a set is recorded as a face change.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures_util::TryStreamExt;
use limen_domain::{
    FaceVector, MAX_VECTORS_PER_PERSON, ModelVersion, OrgId, Person, PersonId, UnixTime, now,
};
use sqlx::{AnyConnection, Row};
use zeroize::Zeroizing;

use crate::audit::AuditRecord;
use crate::changes::record_face_change;
use crate::crypto::DataKey;
use crate::store::{Store, StoreError, lock_person, parse_col};

/// One of a person's vectors, decrypted.
#[derive(Debug)]
pub struct StoredVector {
    pub model_version: ModelVersion,
    pub enrolled_at: UnixTime,
    pub vector: FaceVector,
}

/// A consenting person's vectors of one model, decrypted, for a gallery.
#[derive(Debug)]
pub struct GallerySet {
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub vectors: Vec<FaceVector>,
}

const ACTIVE_CONSENT: &str =
    "EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id AND c.withdrawn_at IS NULL)";

impl Store {
    /// Replaces the person's whole set of vectors (enrolment, renewal),
    /// sealed under a new key of the set. Refused unless
    /// the person has an active consent at the moment of writing (P3).
    pub async fn replace_vectors(
        &self,
        audit: &AuditRecord,
        person: &Person,
        model_version: &ModelVersion,
        vectors: &[FaceVector],
    ) -> Result<(), StoreError> {
        if vectors.is_empty() || vectors.len() > MAX_VECTORS_PER_PERSON {
            return Err(StoreError::InvalidVectorSet);
        }
        let mut tx = self.begin_write().await?;
        // Locking the person serialises this with a concurrent withdrawal,
        // which would otherwise delete the vectors before they are written.
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Err(StoreError::UnknownPerson);
        }
        let consented: i64 = sqlx::query(
            "SELECT COUNT(*) FROM consents WHERE person_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(person.id.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if consented == 0 {
            return Err(StoreError::NoConsent);
        }
        // A set made while the operator activated another version is not
        // kept: no gallery would hold it and no transition would end it.
        if let Some(rollout) = crate::rollout::read_rollout(&mut tx).await?
            && !rollout.in_use().contains(&model_version)
        {
            return Err(StoreError::ModelNotInUse);
        }
        let replaced = self
            .write_set(&mut tx, person, model_version, vectors, now())
            .await?;
        record_face_change(&mut tx, self.backend(), &person.org_id, Some(&person.id)).await?;
        self.commit_audited(tx, audit).await?;
        if replaced > 0 {
            self.shred_deleted().await;
        }
        Ok(())
    }

    /// Writes `vectors` as the person's whole set of `model_version`,
    /// enrolled at `enrolled_at`, sealed under a new key of the set (the
    /// keys of earlier sets go with them); how many vectors it replaced.
    pub(crate) async fn write_set(
        &self,
        conn: &mut AnyConnection,
        person: &Person,
        model_version: &ModelVersion,
        vectors: &[FaceVector],
        enrolled_at: UnixTime,
    ) -> Result<u64, StoreError> {
        let org_key = self.data_key(conn, &person.org_id).await?;
        let replaced = delete_set(conn, &person.id).await?;
        let (key, wrapped) =
            org_key.new_wrapped_key(&vector_key_context(&person.org_id, &person.id));
        sqlx::query("INSERT INTO vector_keys (person_id, wrapped) VALUES ($1, $2)")
            .bind(person.id.as_str())
            .bind(wrapped)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE people SET renewal_needed_since = NULL WHERE id = $1")
            .bind(person.id.as_str())
            .execute(&mut *conn)
            .await?;
        let context = vector_context(&person.org_id, &person.id, model_version);
        for (slot, vector) in vectors.iter().enumerate() {
            let plain: Zeroizing<Vec<u8>> = Zeroizing::new(
                vector
                    .as_slice()
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            );
            sqlx::query(
                "INSERT INTO face_vectors (person_id, slot, model_version, sealed, enrolled_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(person.id.as_str())
            .bind(slot as i64)
            .bind(model_version.as_str())
            .bind(key.seal(&plain, &context))
            .bind(enrolled_at)
            .execute(&mut *conn)
            .await?;
        }
        Ok(replaced)
    }

    /// The person's vectors, decrypted, in the order they were given.
    pub async fn vectors(&self, person: &Person) -> Result<Vec<StoredVector>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT v.model_version, v.sealed, v.enrolled_at FROM face_vectors v JOIN people p ON p.id = v.person_id \
             WHERE p.org_id = $1 AND p.id = $2 ORDER BY v.slot",
        )
        .bind(person.org_id.as_str())
        .bind(person.id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = self
            .vector_key(&mut conn, &person.org_id, &person.id)
            .await?;
        rows.iter()
            .map(|row| {
                let model_version = ModelVersion::new(row.try_get::<String, _>("model_version")?);
                let sealed: Vec<u8> = row.try_get("sealed")?;
                Ok(StoredVector {
                    vector: open_vector(&key, &sealed, &person.org_id, &person.id, &model_version)?,
                    model_version,
                    enrolled_at: row.try_get("enrolled_at")?,
                })
            })
            .collect()
    }

    /// Deletes the person's vectors (consent stays); false when there were
    /// none, and then `audit` is not recorded.
    pub async fn delete_vectors(
        &self,
        audit: &AuditRecord,
        person: &Person,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_person(&mut tx, &person.org_id, &person.id).await? {
            return Ok(false);
        }
        let deleted = delete_set(&mut tx, &person.id).await?;
        if deleted == 0 {
            return Ok(false);
        }
        record_face_change(&mut tx, self.backend(), &person.org_id, Some(&person.id)).await?;
        self.commit_audited(tx, audit).await?;
        self.shred_deleted().await;
        Ok(true)
    }

    /// Every consenting person's set of `model_version`, decrypted and
    /// handed to `each` one set at a time, in the order of organisation and
    /// person, so that a large gallery is never held twice in memory.
    ///
    /// While rows stream in, `threads` threads open the sets read so far, a
    /// batch of [`SETS_PER_BATCH`] people each; the batches are handed over
    /// in the order read, so `each` sees the same sets in the same order
    /// whatever the number of threads. At most `threads` batches are open
    /// at a time, beyond the one being read.
    pub async fn gallery_sets(
        &self,
        model_version: &ModelVersion,
        threads: usize,
        mut each: impl FnMut(GallerySet) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let keys = Arc::new(self.all_data_keys(&mut conn).await?);
        let sql = format!(
            "SELECT p.org_id, p.id, k.wrapped, v.sealed FROM face_vectors v \
             JOIN people p ON p.id = v.person_id JOIN vector_keys k ON k.person_id = p.id \
             WHERE v.model_version = $1 AND {ACTIVE_CONSENT} ORDER BY p.org_id, p.id, v.slot"
        );
        let mut rows = sqlx::query(&sql)
            .bind(model_version.as_str())
            .fetch(&mut *conn);
        let threads = threads.max(1);
        let mut opening = VecDeque::with_capacity(threads);
        let mut batch: Vec<SealedSet> = Vec::with_capacity(SETS_PER_BATCH);
        let mut hand_over = |opened: Vec<GallerySet>| opened.into_iter().try_for_each(&mut each);
        while let Some(row) = rows.try_next().await? {
            let person_id = parse_col(&row, "id", PersonId::parse)?;
            if batch.last().is_none_or(|set| set.person_id != person_id) {
                if batch.len() == SETS_PER_BATCH {
                    if opening.len() == threads {
                        hand_over(opened(opening.pop_front()).await?)?;
                    }
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(SETS_PER_BATCH));
                    let (keys, model_version) = (Arc::clone(&keys), model_version.clone());
                    opening.push_back(tokio::task::spawn_blocking(move || {
                        open_sets(full, &keys, &model_version)
                    }));
                }
                batch.push(SealedSet {
                    org_id: parse_col(&row, "org_id", OrgId::parse)?,
                    person_id,
                    wrapped_key: row.try_get("wrapped")?,
                    sealed: Vec::new(),
                });
            }
            if let Some(set) = batch.last_mut() {
                set.sealed.push(row.try_get("sealed")?);
            }
        }
        while !opening.is_empty() {
            hand_over(opened(opening.pop_front()).await?)?;
        }
        hand_over(open_sets(batch, &keys, model_version)?)
    }

    /// One person's vectors of `model_version` as a gallery must hold them:
    /// empty unless the person exists and consents.
    pub async fn gallery_set(
        &self,
        org: &OrgId,
        person: &PersonId,
        model_version: &ModelVersion,
    ) -> Result<Vec<FaceVector>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT v.sealed FROM face_vectors v JOIN people p ON p.id = v.person_id \
             WHERE p.org_id = $1 AND p.id = $2 AND v.model_version = $3 AND {ACTIVE_CONSENT} ORDER BY v.slot"
        ))
        .bind(org.as_str())
        .bind(person.as_str())
        .bind(model_version.as_str())
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.vector_key(&mut conn, org, person).await?;
        rows.iter()
            .map(|row| {
                open_vector(
                    &key,
                    &row.try_get::<Vec<u8>, _>("sealed")?,
                    org,
                    person,
                    model_version,
                )
            })
            .collect()
    }

    /// The key of the person's vectors, unwrapped with their
    /// organisation's data key.
    async fn vector_key(
        &self,
        conn: &mut AnyConnection,
        org: &OrgId,
        person: &PersonId,
    ) -> Result<DataKey, StoreError> {
        let wrapped: Vec<u8> = sqlx::query("SELECT wrapped FROM vector_keys WHERE person_id = $1")
            .bind(person.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::Corrupt("vectors without their key"))?
            .try_get("wrapped")?;
        self.data_key(conn, org)
            .await?
            .unwrap_key(&wrapped, &vector_key_context(org, person))
            .map_err(|_| StoreError::Corrupt("vector key"))
    }

    /// Schema version 9: every set sealed under its organisation's data
    /// key is sealed anew under a key of its own.
    pub(crate) async fn key_vector_sets(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT p.org_id, v.person_id, v.slot, v.model_version, v.sealed FROM face_vectors v \
             JOIN people p ON p.id = v.person_id ORDER BY v.person_id, v.slot",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut person_key: Option<(PersonId, DataKey)> = None;
        for row in &rows {
            let org = parse_col(row, "org_id", OrgId::parse)?;
            let person = parse_col(row, "person_id", PersonId::parse)?;
            let model = ModelVersion::new(row.try_get::<String, _>("model_version")?);
            let org_key = self.data_key(conn, &org).await?;
            if person_key.as_ref().is_none_or(|(p, _)| *p != person) {
                let (key, wrapped) = org_key.new_wrapped_key(&vector_key_context(&org, &person));
                sqlx::query("INSERT INTO vector_keys (person_id, wrapped) VALUES ($1, $2)")
                    .bind(person.as_str())
                    .bind(wrapped)
                    .execute(&mut *conn)
                    .await?;
                person_key = Some((person.clone(), key));
            }
            let Some((_, key)) = &person_key else {
                continue;
            };
            let context = vector_context(&org, &person, &model);
            let plain = org_key
                .open(&row.try_get::<Vec<u8>, _>("sealed")?, &context)
                .map_err(|_| StoreError::Corrupt("vector"))?;
            sqlx::query("UPDATE face_vectors SET sealed = $1 WHERE person_id = $2 AND slot = $3")
                .bind(key.seal(&plain, &context))
                .bind(person.as_str())
                .bind(row.try_get::<i64, _>("slot")?)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn all_data_keys(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<HashMap<OrgId, DataKey>, StoreError> {
        // One read: an organisation deleted meanwhile is simply not there,
        // rather than missing between listing it and reading its key.
        let rows = sqlx::query("SELECT id, wrapped_key FROM organisations")
            .fetch_all(&mut *conn)
            .await?;
        let mut keys = HashMap::with_capacity(rows.len());
        for row in &rows {
            let org = parse_col(row, "id", OrgId::parse)?;
            let wrapped: Vec<u8> = row.try_get("wrapped_key")?;
            let key = self
                .master_key()
                .unwrap_data_key(&wrapped, org.as_str())
                .map_err(|_| StoreError::KeyMismatch)?;
            keys.insert(org, key);
        }
        Ok(keys)
    }
}

/// Deletes the person's set and its key; how many vectors it held.
pub(crate) async fn delete_set(
    conn: &mut AnyConnection,
    person: &PersonId,
) -> Result<u64, StoreError> {
    let deleted = sqlx::query("DELETE FROM face_vectors WHERE person_id = $1")
        .bind(person.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM vector_keys WHERE person_id = $1")
        .bind(person.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(deleted)
}

/// What a person's vector key is bound to: it unwraps for that person of
/// that organisation only.
pub(crate) fn vector_key_context(org: &OrgId, person: &PersonId) -> Vec<u8> {
    format!("limen vector key\0{org}\0{person}").into_bytes()
}

/// What a sealed vector is bound to: moving it to another person,
/// organisation or model makes it fail to open. (Not its slot: the order
/// within one person's set carries no meaning.)
pub(crate) fn vector_context(
    org: &OrgId,
    person: &PersonId,
    model_version: &ModelVersion,
) -> Vec<u8> {
    format!("limen vector\0{org}\0{person}\0{model_version}").into_bytes()
}

pub(crate) fn open_vector(
    key: &DataKey,
    sealed: &[u8],
    org: &OrgId,
    person: &PersonId,
    model_version: &ModelVersion,
) -> Result<FaceVector, StoreError> {
    let plain = key
        .open(sealed, &vector_context(org, person, model_version))
        .map_err(|_| StoreError::Corrupt("vector"))?;
    if plain.len() % 4 != 0 {
        return Err(StoreError::Corrupt("vector length"));
    }
    let values = plain
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    FaceVector::new(values).map_err(|_| StoreError::Corrupt("vector values"))
}

/// People whose sets one thread opens at a time while loading galleries.
const SETS_PER_BATCH: usize = 64;

/// A person's set as read from the database, still sealed.
struct SealedSet {
    org_id: OrgId,
    person_id: PersonId,
    wrapped_key: Vec<u8>,
    sealed: Vec<Vec<u8>>,
}

/// Opens a batch of sets, in order.
fn open_sets(
    batch: Vec<SealedSet>,
    keys: &HashMap<OrgId, DataKey>,
    model_version: &ModelVersion,
) -> Result<Vec<GallerySet>, StoreError> {
    batch
        .into_iter()
        .map(|set| {
            let key = keys
                .get(&set.org_id)
                .ok_or(StoreError::Corrupt("vector without an organisation"))?
                .unwrap_key(
                    &set.wrapped_key,
                    &vector_key_context(&set.org_id, &set.person_id),
                )
                .map_err(|_| StoreError::Corrupt("vector key"))?;
            let vectors = set
                .sealed
                .iter()
                .map(|sealed| open_vector(&key, sealed, &set.org_id, &set.person_id, model_version))
                .collect::<Result<_, _>>()?;
            Ok(GallerySet {
                org_id: set.org_id,
                person_id: set.person_id,
                vectors,
            })
        })
        .collect()
}

/// The sets of the oldest batch being opened, once opened. A panic while
/// opening is a bug and goes on here.
async fn opened(
    oldest: Option<tokio::task::JoinHandle<Result<Vec<GallerySet>, StoreError>>>,
) -> Result<Vec<GallerySet>, StoreError> {
    match oldest {
        Some(handle) => handle
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::MasterKey;
    use crate::store::tests::{ScratchPostgres, consenting_person};

    fn master() -> MasterKey {
        MasterKey::from_bytes([9; 32])
    }

    /// A database made before vector sets (schema version 2) keeps its
    /// vector: the one row becomes a set of one, still readable.
    async fn a_single_vector_becomes_a_set_of_one(url: &str) {
        let model = ModelVersion::new("dlib-resnet-v1");
        let values: Vec<f32> = (0..128).map(|i| i as f32 / 256.0).collect();
        let old = Store::open_at(url, master(), 2).await.expect("version 2");
        let (org, person) = consenting_person(&old).await;
        let mut conn = old.pool.acquire().await.expect("connection");
        let key = old.data_key(&mut conn, &org).await.expect("key");
        let plain: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let sealed = key.seal(&plain, &vector_context(&org, &person.id, &model));
        sqlx::query(
            "INSERT INTO face_vectors (person_id, model_version, sealed, enrolled_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(person.id.as_str())
        .bind(model.as_str())
        .bind(sealed)
        .bind(1_000_i64)
        .execute(&mut *conn)
        .await
        .expect("a version-2 vector row");
        // The entries this store wrote carry keyed links, which a store of
        // version 2 never wrote: the upgrade to keyed links would refuse them.
        sqlx::query("DELETE FROM audit_entries")
            .execute(&mut *conn)
            .await
            .expect("no entries");
        drop(conn);
        old.close().await;

        let store = Store::open(url, master()).await.expect("migrated");
        let stored = store.vectors(&person).await.expect("read");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].vector.as_slice(), values.as_slice());
        assert_eq!(
            (&stored[0].model_version, stored[0].enrolled_at),
            (&model, 1_000)
        );
        assert_eq!(
            store
                .gallery_set(&org, &person.id, &model)
                .await
                .expect("set")
                .len(),
            1
        );
        assert_eq!(store.face_change_head().await.expect("head"), 0);
        store.close().await;
    }

    #[tokio::test]
    async fn sqlite_single_vectors_migrate_to_sets() {
        let dir = std::env::temp_dir().join(format!("limen-migrate-{}", OrgId::generate()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        a_single_vector_becomes_a_set_of_one(&format!("sqlite:{}", dir.join("limen.db").display()))
            .await;
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[tokio::test]
    async fn postgres_single_vectors_migrate_to_sets() {
        if let Some(database) = ScratchPostgres::create().await {
            a_single_vector_becomes_a_set_of_one(&database.url).await;
            database.drop_database().await;
        }
    }
}
