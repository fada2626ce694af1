//! The audit trail: one append-only chain per organisation (plus one for
//! the operator), each entry committing to the one before it by an
//! HMAC-SHA-256 under a key derived from the master key, so that editing,
//! inserting or removing an entry breaks the chain, and someone with the
//! database but not the master key cannot compute a link that holds.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use limen_domain::{AuditAction, AuditDetail, Recorded, Stored, UnixTime, now};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use zeroize::Zeroizing;

use crate::anchor::{AnchoredHead, AuditAnchor};
use crate::crypto::MasterKey;
use crate::store::{Backend, Store, StoreError, WriteTx};

/// The chain that holds the operator's own actions (organisations created
/// and deleted); every other chain is named by its organisation's id.
pub const OPERATOR_CHAIN: &str = "operator";

/// One recorded action. It names who did what to whom, never secrets or
/// biometric data. Its action and detail are read back as stored: an
/// entry written before details were typed, or by a newer version, keeps
/// its text (and its link holds over exactly that text).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub chain: String,
    pub seq: i64,
    pub at: UnixTime,
    pub actor: String,
    /// The action's code, e.g. `consent.given`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub action: Recorded<AuditAction>,
    pub subject: String,
    /// In English, e.g. "statement 1a2b3c (nl) by web"; empty when the
    /// action says it all.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub detail: Recorded<AuditDetail>,
    #[serde(serialize_with = "as_hex")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "as_hex")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// What an action records, and in which chain (an organisation's id, or
/// [`OPERATOR_CHAIN`]), before it gets its place there. Every store method
/// that performs an audited action takes one and appends it in the
/// action's own transaction: the action and its entry commit together or
/// not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub chain: String,
    pub actor: String,
    pub action: AuditAction,
    pub subject: String,
    pub detail: AuditDetail,
}

pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The key of every chain's links: first derived from the master key,
/// then kept wrapped by it (`wrapped_keys`, purpose [`AuditKey::PURPOSE`]),
/// so that it outlives a rotation of the master key.
pub(crate) struct AuditKey(Zeroizing<[u8; 32]>);

impl AuditKey {
    pub(crate) const PURPOSE: &str = "audit";

    pub(crate) fn derive(master: &MasterKey) -> AuditKey {
        AuditKey(master.derive("audit chain"))
    }

    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> AuditKey {
        AuditKey(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key for another purpose of the trail (the anchor's MAC).
    pub(crate) fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// The link an entry must carry: HMAC-SHA-256 over what it covers.
    fn link(&self, covered: &Covered<'_>) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_ref())
            .expect("HMAC takes a key of any length");
        covered.feed(|bytes| mac.update(bytes));
        mac.finalize().into_bytes().to_vec()
    }
}

/// The link of trails written before schema version 5: plain SHA-256,
/// which anyone with the database could recompute. Only for checking such a
/// trail once, before it is keyed.
fn unkeyed_link(covered: &Covered<'_>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    covered.feed(|bytes| hasher.update(bytes));
    hasher.finalize().to_vec()
}

/// What an entry's link covers: the link before it and its own fields.
struct Covered<'a> {
    prev_hash: &'a [u8],
    chain: &'a str,
    seq: i64,
    at: UnixTime,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
}

impl Covered<'_> {
    /// Each field length-prefixed, so that no two entries collide by
    /// shifting text between fields.
    fn feed(&self, mut update: impl FnMut(&[u8])) {
        let mut field = |bytes: &[u8]| {
            update(&(bytes.len() as u64).to_be_bytes());
            update(bytes);
        };
        field(self.prev_hash);
        field(self.chain.as_bytes());
        field(&self.seq.to_be_bytes());
        field(&self.at.to_be_bytes());
        field(self.actor.as_bytes());
        field(self.action.as_bytes());
        field(self.subject.as_bytes());
        field(self.detail.as_bytes());
    }
}

impl AuditEntry {
    fn covered(&self) -> Covered<'_> {
        Covered {
            prev_hash: &self.prev_hash,
            chain: &self.chain,
            seq: self.seq,
            at: self.at,
            actor: &self.actor,
            action: self.action.text(),
            subject: &self.subject,
            detail: self.detail.text(),
        }
    }
}

/// The first entry whose link does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {chain:?} is broken at entry {seq}: {reason}")]
pub struct BrokenLink {
    pub chain: String,
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks one chain, given its entries in sequence order and how a link
/// is computed.
fn verify_chain(
    entries: &[AuditEntry],
    link: impl Fn(&Covered<'_>) -> Vec<u8>,
) -> Result<(), BrokenLink> {
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
        if link(&entry.covered()) != entry.hash {
            return Err(broken("its content does not match its hash"));
        }
        expected_prev.clone_from(&entry.hash);
    }
    Ok(())
}

impl Store {
    /// Records an action that changes nothing else (a failed login, an
    /// export): the caller refuses the action when this fails.
    pub async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let tx = self.begin_write().await?;
        self.commit_audited(tx, record).await
    }

    /// Appends the action's entry to its chain inside the action's
    /// transaction, then commits both.
    pub(crate) async fn commit_audited(
        &self,
        tx: WriteTx,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.commit_audited_all(tx, std::slice::from_ref(record))
            .await
    }

    /// Makes a change of one statement, committed with its entry; false,
    /// with nothing written, when the statement touched no row.
    pub(crate) async fn change_audited<'q>(
        &self,
        record: &AuditRecord,
        change: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if change.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, record).await?;
        Ok(true)
    }

    /// As [`Store::commit_audited`], for an action of several entries (one
    /// per person it touched), all committed with it.
    pub(crate) async fn commit_audited_all(
        &self,
        mut tx: WriteTx,
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut heads = Vec::with_capacity(records.len());
        for record in records {
            heads.push((
                record.chain.as_str(),
                append(&mut tx, self.backend(), &self.audit_key, record).await?,
            ));
        }
        tx.commit().await?;
        if let Some(anchor) = &self.anchor {
            // The action is done and must be reported as done; an anchor
            // left behind only weakens what a later check can prove, and
            // the next entry of the chain raises it again.
            if let Err(e) = anchor.advance(heads) {
                tracing::error!(error = %e, "cannot advance the audit anchor");
            }
        }
        Ok(())
    }

    /// Records the chains' heads, from now on after every commit, in the
    /// anchor file at `path`; the heads the database holds now are merged
    /// into it first (an anchored head never moves back). Refused when the
    /// file is there but was not written with this master key.
    pub async fn anchor_audit_to(mut self, path: &Path) -> Result<Store, StoreError> {
        let anchor = AuditAnchor::new(path, &self.audit_key);
        anchor.heads()?;
        let rows = sqlx::query(
            "SELECT e.chain, e.seq, e.hash FROM audit_entries e \
             JOIN (SELECT chain, MAX(seq) AS seq FROM audit_entries GROUP BY chain) h \
             ON h.chain = e.chain AND h.seq = e.seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let heads = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get::<String, _>("chain")?,
                    AnchoredHead {
                        seq: row.try_get("seq")?,
                        hash: row.try_get("hash")?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        anchor.advance(
            heads
                .iter()
                .map(|(chain, head)| (chain.as_str(), head.clone())),
        )?;
        self.anchor = Some(Arc::new(anchor));
        Ok(self)
    }

    pub async fn audit_trail(&self, chain: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        chain_entries(&mut conn, chain).await
    }

    /// The entries of `chain` about `subject` (a person, for their
    /// export), oldest first.
    pub async fn audit_about(
        &self,
        chain: &str,
        subject: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries \
             WHERE chain = $1 AND subject = $2 ORDER BY seq",
        )
        .bind(chain)
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Checks every chain's links, then every chain against this store's
    /// anchor and the `other_anchors` (those of other instances' data
    /// directories, or copies kept elsewhere): returns how many entries
    /// were checked, or the first broken link. An anchor not written with
    /// this master key is an error.
    pub async fn verify_audit(
        &self,
        other_anchors: &[PathBuf],
    ) -> Result<Result<usize, BrokenLink>, StoreError> {
        let key = &self.audit_key;
        let mut conn = self.pool.acquire().await?;
        let mut checked = 0;
        for chain in chain_names(&mut conn).await? {
            let entries = chain_entries(&mut conn, &chain).await?;
            if let Err(broken) = verify_chain(&entries, |covered| key.link(covered)) {
                return Ok(Err(broken));
            }
            checked += entries.len();
        }
        let others: Vec<AuditAnchor> = other_anchors
            .iter()
            .map(|path| AuditAnchor::new(path, &self.audit_key))
            .collect();
        let deleted: HashSet<String> = chain_entries(&mut conn, OPERATOR_CHAIN)
            .await?
            .into_iter()
            .filter(|e| e.action.value() == Some(&AuditAction::OrganisationDeleted))
            .map(|e| e.subject)
            .collect();
        for anchor in self.anchor.as_deref().into_iter().chain(&others) {
            let mut heads: Vec<_> = anchor.heads()?.into_iter().collect();
            // The operator's chain first: it vouches for the deletions.
            heads.sort_by_key(|(chain, _)| chain != OPERATOR_CHAIN);
            for (chain, head) in heads {
                let entries = chain_entries(&mut conn, &chain).await?;
                if let Err(broken) = check_anchored(&chain, &head, &entries, &deleted) {
                    return Ok(Err(broken));
                }
            }
        }
        Ok(Ok(checked))
    }
}

impl Store {
    /// Checks one chain (an organisation's) as [`Store::verify_audit`]
    /// checks them all: its links, then its head against this store's
    /// anchor. Returns how many entries were checked, or the broken link.
    pub async fn verify_audit_chain(
        &self,
        chain: &str,
    ) -> Result<Result<usize, BrokenLink>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let entries = chain_entries(&mut conn, chain).await?;
        if let Err(broken) = verify_chain(&entries, |covered| self.audit_key.link(covered)) {
            return Ok(Err(broken));
        }
        if let Some(anchor) = self.anchor.as_deref()
            && let Some(head) = anchor.heads()?.get(chain)
            && let Err(broken) = check_anchored(chain, head, &entries, &HashSet::new())
        {
            return Ok(Err(broken));
        }
        Ok(Ok(entries.len()))
    }
}

/// Checks a chain (its links already verified) against its anchored head.
fn check_anchored(
    chain: &str,
    head: &AnchoredHead,
    entries: &[AuditEntry],
    deleted_organisations: &HashSet<String>,
) -> Result<(), BrokenLink> {
    let broken = |reason| {
        Err(BrokenLink {
            chain: chain.to_owned(),
            seq: head.seq,
            reason,
        })
    };
    if entries.is_empty() {
        if deleted_organisations.contains(chain) {
            return Ok(());
        }
        return broken(
            "the whole chain is gone, and the operator's trail records no deletion of its organisation",
        );
    }
    match entries.iter().find(|e| e.seq == head.seq) {
        None => broken("the chain ends before this entry, which the anchor recorded as committed"),
        Some(entry) if entry.hash != head.hash => broken("it is not the entry the anchor recorded"),
        Some(_) => Ok(()),
    }
}

/// Schema version 5: every chain written with unkeyed links is checked as
/// it was written and then relinked under the key, in the migration's
/// transaction. A chain already broken is not relinked (that would hide
/// the tampering): the migration fails and names it.
pub(crate) async fn key_audit_chains(
    conn: &mut AnyConnection,
    key: &AuditKey,
) -> Result<(), StoreError> {
    for chain in chain_names(conn).await? {
        let entries = chain_entries(conn, &chain).await?;
        verify_chain(&entries, unkeyed_link).map_err(StoreError::AuditTampered)?;
        let mut prev_hash = GENESIS_HASH.to_vec();
        for entry in &entries {
            let hash = key.link(&Covered {
                prev_hash: &prev_hash,
                ..entry.covered()
            });
            sqlx::query(
                "UPDATE audit_entries SET prev_hash = $1, hash = $2 WHERE chain = $3 AND seq = $4",
            )
            .bind(prev_hash)
            .bind(hash.clone())
            .bind(entry.chain.as_str())
            .bind(entry.seq)
            .execute(&mut *conn)
            .await?;
            prev_hash = hash;
        }
    }
    Ok(())
}

/// Appends `record` to its chain in the caller's transaction. Writers of
/// one chain are serialised until they commit: on SQLite by the write
/// lock every write transaction takes, on PostgreSQL by a transaction
/// advisory lock per chain (taken last in every transaction, so it closes
/// no cycle with the row locks taken before it).
async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    key: &AuditKey,
    record: &AuditRecord,
) -> Result<AnchoredHead, StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7071, hashtext($1))")
            .bind(record.chain.as_str())
            .execute(&mut *conn)
            .await?;
    }
    let last = sqlx::query(
        "SELECT seq, hash FROM audit_entries WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(record.chain.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let (seq, prev_hash) = match last {
        Some(row) => (
            row.try_get::<i64, _>("seq")? + 1,
            row.try_get::<Vec<u8>, _>("hash")?,
        ),
        None => (1, GENESIS_HASH.to_vec()),
    };
    let at = now();
    let action = record.action.to_stored();
    let detail = record.detail.to_stored();
    let hash = key.link(&Covered {
        prev_hash: &prev_hash,
        chain: &record.chain,
        seq,
        at,
        actor: &record.actor,
        action: &action,
        subject: &record.subject,
        detail: &detail,
    });
    sqlx::query(
        "INSERT INTO audit_entries (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(record.chain.as_str())
    .bind(seq)
    .bind(at)
    .bind(record.actor.as_str())
    .bind(action)
    .bind(record.subject.as_str())
    .bind(detail)
    .bind(prev_hash)
    .bind(hash.clone())
    .execute(&mut *conn)
    .await?;
    Ok(AnchoredHead { seq, hash })
}

async fn chain_names(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query("SELECT DISTINCT chain FROM audit_entries ORDER BY chain")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
    )
}

async fn chain_entries(
    conn: &mut AnyConnection,
    chain: &str,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries WHERE chain = $1 ORDER BY seq",
    )
    .bind(chain)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(audit_from_row).collect()
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        chain: row.try_get("chain")?,
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: Recorded::read(row.try_get("action")?),
        subject: row.try_get("subject")?,
        detail: Recorded::read(row.try_get("detail")?),
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

#[cfg(test)]
mod tests;
