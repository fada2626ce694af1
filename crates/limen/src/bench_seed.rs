//! Throw-away databases for the benchmarks: one organisation of people who
//! each consented and hold a set of random unit vectors, with an OSDP
//! entrance and devices. Written through the store before any instance
//! starts, so that instances load them exactly as they load real people;
//! this is the one place outside `limen-services` that writes vectors, and
//! only benchmarks use it.

use std::sync::Arc;

use anyhow::Context;
use limen_domain::{FaceVector, ModelVersion, NewPerson, OrgId, Person};
use limen_eval::rng::SplitMix64;
use limen_store::token::new_token;
use limen_store::{AuditRecord, Backend, NewConnector, Store};

/// People imported in one transaction.
const IMPORT_CHUNK: usize = 10_000;

pub struct Seeded {
    pub org: OrgId,
    pub people: Vec<Person>,
    /// One device token per requested device, at one OSDP entrance.
    pub device_tokens: Vec<String>,
}

/// The entry every seeding step records in the benchmark organisation's
/// chain, as the store's audited methods require.
pub fn seeded(org: &OrgId) -> AuditRecord {
    AuditRecord {
        chain: org.as_str().to_owned(),
        actor: "bench".to_owned(),
        action: limen_domain::AuditAction::Seeded,
        subject: String::new(),
        detail: limen_domain::AuditDetail::None,
    }
}

/// Seeds `people` people with `vectors_per_person` vectors each of
/// `model`, and `devices` devices. Progress goes to stderr.
pub async fn seed(
    store: &Store,
    model: &ModelVersion,
    people: usize,
    vectors_per_person: usize,
    devices: usize,
    seed: u64,
) -> anyhow::Result<Seeded> {
    let (_, admin_hash) = new_token();
    let org = store
        .create_organisation(|org| seeded(&org.id), "Bench", &admin_hash)
        .await?;
    let entrance = store
        .create_entrance(
            |_| seeded(&org.id),
            &org.id,
            "Bench door",
            &NewConnector::Osdp,
        )
        .await?;
    let mut device_tokens = Vec::with_capacity(devices);
    for _ in 0..devices {
        let (token, hash) = new_token();
        store
            .create_device(|_| seeded(&org.id), &org.id, &entrance.id, &hash)
            .await?;
        device_tokens.push(token);
    }
    for start in (0..people).step_by(IMPORT_CHUNK) {
        let rows: Vec<NewPerson> = (start..people.min(start + IMPORT_CHUNK))
            .map(|i| {
                NewPerson::parse(
                    i + 1,
                    "Bench",
                    "Person",
                    &format!("p{i}@bench.test"),
                    &format!("B{i}"),
                )
                .map_err(|e| anyhow::anyhow!("bench row {i}: {e:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        store
            .import_people(|_| seeded(&org.id), &org.id, &rows)
            .await?
            .map_err(|e| anyhow::anyhow!("bench import refused: {e:?}"))?;
    }
    let dimensions = limen_face::FaceModel::by_id(model.as_str())
        .ok_or_else(|| anyhow::anyhow!("unknown model version {model}"))?
        .dimensions;
    let persons = store.people(&org.id, model).await?;
    // SQLite writes one transaction at a time anyway.
    let writers = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 8,
    };
    let persons = Arc::new(persons);
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let (store, model, persons) = (store.clone(), model.clone(), persons.clone());
        let mut rng = SplitMix64::new(seed ^ (writer as u64 + 1).wrapping_mul(0x9E37_79B9));
        tasks.spawn(async move {
            for (i, overview) in persons.iter().enumerate().skip(writer).step_by(writers) {
                let person = &overview.person;
                store
                    .give_consent(
                        &seeded(&person.org_id),
                        person,
                        "bench",
                        limen_domain::Language::English,
                        "bench",
                    )
                    .await?;
                let set: Vec<FaceVector> = (0..vectors_per_person)
                    .map(|_| FaceVector::new(random_unit_vector(&mut rng, dimensions)))
                    .collect::<Result<_, _>>()?;
                store
                    .replace_vectors(&seeded(&person.org_id), person, &model, &set)
                    .await?;
                if writer == 0 && i % (writers * 10_000) == 0 {
                    eprintln!("seeded {i} of {} people", persons.len());
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a seeding task failed")??;
    }
    Ok(Seeded {
        org: org.id,
        people: persons.iter().map(|p| p.person.clone()).collect(),
        device_tokens,
    })
}

/// The benchmarks' master key: fixed, so that a benchmark database seeded
/// once can be opened again by a later run (and by the instances it starts).
pub fn master_key_bytes() -> [u8; 32] {
    let mut key = [0u8; 32];
    let mut rng = SplitMix64::new(0x11AE);
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    key
}

pub async fn open_store(database_url: &str) -> anyhow::Result<Store> {
    Store::open(
        database_url,
        limen_store::MasterKey::from_bytes(master_key_bytes()),
    )
    .await
    .with_context(|| format!("cannot open the benchmark database {database_url}"))
}

/// A random direction in a vector space of `dimensions`: about 1.4 from
/// any face photo, so a frame searched against these is decided `unknown`
/// after a full scan.
pub fn random_unit_vector(rng: &mut SplitMix64, dimensions: usize) -> Vec<f32> {
    let mut vector: Vec<f32> = (0..dimensions)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        .collect();
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    vector.iter_mut().for_each(|v| *v /= norm);
    vector
}

/// A directory for a throw-away SQLite database: in memory (tmpfs) where
/// there is one, so that seeding does not wait on the disk.
/// Runs `work` in a fresh scratch directory (see [`scratch_dir`]), which
/// is removed afterwards whatever `work` answered.
pub fn in_scratch_dir<T>(
    name: &str,
    work: impl FnOnce(&std::path::Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = scratch_dir(name);
    std::fs::create_dir_all(&dir)?;
    let result = work(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("limen-bench-{name}-{}", std::process::id()))
}
