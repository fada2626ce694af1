//! The audit trail: one append-only chain per organisation (plus one for
//! the operator), each entry committing to the one before it by hash, so
//! that editing, inserting or removing an entry breaks the chain.

use limen_domain::{UnixTime, now};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::{Store, StoreError};

/// The chain that holds the operator's own actions (organisations created
/// and deleted); every other chain is named by its organisation's id.
pub const OPERATOR_CHAIN: &str = "operator";

/// One recorded action. It names who did what to whom, never secrets or
/// biometric data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub chain: String,
    pub seq: i64,
    pub at: UnixTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "as_hex")]
    pub hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// What an action records, before it gets its place in a chain.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: &'a str,
}

pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The hash an entry must carry: SHA-256 over its predecessor's hash and
/// its own fields, each length-prefixed so that no two entries collide by
/// shifting text between fields.
pub fn entry_hash(
    prev_hash: &[u8],
    chain: &str,
    seq: i64,
    at: UnixTime,
    event: &AuditEvent<'_>,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(prev_hash);
    field(chain.as_bytes());
    field(&seq.to_be_bytes());
    field(&at.to_be_bytes());
    field(event.actor.as_bytes());
    field(event.action.as_bytes());
    field(event.subject.as_bytes());
    field(event.detail.as_bytes());
    hasher.finalize().to_vec()
}

/// The first entry whose link does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {chain:?} is broken at entry {seq}: {reason}")]
pub struct BrokenLink {
    pub chain: String,
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks one chain, given its entries in sequence order.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<(), BrokenLink> {
    let mut expected_prev: Vec<u8> = GENESIS_HASH.to_vec();
    for (index, entry) in entries.iter().enumerate() {
        let broken = |reason| BrokenLink {
            chain: entry.chain.clone(),
            seq: entry.seq,
            reason,
        };
        if entry.seq != index as i64 + 1 {
            return Err(broken("an entry is missing before this one"));
        }
        if entry.prev_hash != expected_prev {
            return Err(broken("it does not point to the entry before it"));
        }
        let event = AuditEvent {
            actor: &entry.actor,
            action: &entry.action,
            subject: &entry.subject,
            detail: &entry.detail,
        };
        if entry_hash(&entry.prev_hash, &entry.chain, entry.seq, entry.at, &event) != entry.hash {
            return Err(broken("its content does not match its hash"));
        }
        expected_prev.clone_from(&entry.hash);
    }
    Ok(())
}

impl Store {
    /// Appends an entry to a chain (an organisation's id, or the operator's).
    pub async fn audit(&self, chain: &str, event: AuditEvent<'_>) -> Result<(), StoreError> {
        // Two writers may race for the same next position; the primary key
        // refuses the loser, who then links to the winner's entry instead.
        let mut attempt = 0;
        loop {
            match self.try_append_audit(chain, &event).await {
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if e.is_unique_violation() && attempt < 10 =>
                {
                    attempt += 1
                }
                other => return other,
            }
        }
    }

    async fn try_append_audit(
        &self,
        chain: &str,
        event: &AuditEvent<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let last = sqlx::query(
            "SELECT seq, hash FROM audit_entries WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(&mut *tx)
        .await?;
        let (seq, prev_hash) = match last {
            Some(row) => (
                row.try_get::<i64, _>("seq")? + 1,
                row.try_get::<Vec<u8>, _>("hash")?,
            ),
            None => (1, GENESIS_HASH.to_vec()),
        };
        let at = now();
        let hash = entry_hash(&prev_hash, chain, seq, at, event);
        sqlx::query(
            "INSERT INTO audit_entries (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(chain)
        .bind(seq)
        .bind(at)
        .bind(event.actor)
        .bind(event.action)
        .bind(event.subject)
        .bind(event.detail)
        .bind(prev_hash)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn audit_trail(&self, chain: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries WHERE chain = $1 ORDER BY seq",
        )
        .bind(chain)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Checks every chain; returns how many entries were checked, or the
    /// first broken link.
    pub async fn verify_audit(&self) -> Result<Result<usize, BrokenLink>, StoreError> {
        let chains: Vec<String> =
            sqlx::query("SELECT DISTINCT chain FROM audit_entries ORDER BY chain")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
        let mut checked = 0;
        for chain in chains {
            let entries = self.audit_trail(&chain).await?;
            if let Err(broken) = verify_chain(&entries) {
                return Ok(Err(broken));
            }
            checked += entries.len();
        }
        Ok(Ok(checked))
    }
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        chain: row.try_get("chain")?,
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_of(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_vec();
        (1..=n)
            .map(|seq| {
                let event = AuditEvent {
                    actor: "admin",
                    action: "person.imported",
                    subject: "p",
                    detail: "",
                };
                let hash = entry_hash(&prev, "org", seq, 100 + seq, &event);
                AuditEntry {
                    chain: "org".into(),
                    seq,
                    at: 100 + seq,
                    actor: event.actor.into(),
                    action: event.action.into(),
                    subject: event.subject.into(),
                    detail: event.detail.into(),
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_any_edit_is_found() {
        let chain = chain_of(4);
        assert_eq!(verify_chain(&chain), Ok(()));

        let mut edited = chain.clone();
        edited[2].action = "nothing happened".into();
        assert_eq!(verify_chain(&edited).map_err(|b| b.seq), Err(3));

        let mut removed = chain.clone();
        removed.remove(1);
        assert_eq!(verify_chain(&removed).map_err(|b| b.seq), Err(3));

        let mut swapped_fields = chain;
        swapped_fields[0].actor = "adminperson.imported".into();
        swapped_fields[0].action = String::new();
        assert_eq!(verify_chain(&swapped_fields).map_err(|b| b.seq), Err(1));
    }
}
