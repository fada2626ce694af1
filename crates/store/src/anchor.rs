//! The audit trail's anchor: a file outside the database holding, for each
//! chain, the last entry this data directory saw committed (its sequence
//! number and link). The links alone stop an attacker without the key
//! from forging or rewriting entries, but not from deleting the newest
//! ones, or a whole chain: what is left still links up. Checked against
//! an anchor, a chain that ends before its anchored entry, or holds
//! another entry in its place, or is gone without the operator's trail
//! recording its organisation's deletion, fails.
//!
//! The file is rewritten after each commit of an entry, atomically (a new
//! file renamed over the old), under an exclusive lock, so that `limen
//! serve` and `limen admin` sharing a data directory merge their heads
//! rather than overwrite each other's. It carries an HMAC under a key
//! derived from the audit key, so that someone without it cannot
//! drop a chain from it or invent a head. What it cannot stop is someone
//! who can write it putting back an older copy: keep a copy of it where
//! the database's attacker cannot write (see the server README).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::audit::AuditKey;

const HEADER: &str = "limen audit anchor 1";

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read or write the audit anchor {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the audit anchor {path} is not one this master key wrote: it was altered or replaced")]
    Forged { path: String },
}

/// The last entry of a chain known to have been committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnchoredHead {
    pub(crate) seq: i64,
    pub(crate) hash: Vec<u8>,
}

/// An anchor file and the key its content is authenticated with.
pub(crate) struct AuditAnchor {
    path: PathBuf,
    key: Zeroizing<[u8; 32]>,
}

impl AuditAnchor {
    pub(crate) fn new(path: &Path, audit_key: &AuditKey) -> AuditAnchor {
        AuditAnchor {
            path: path.to_owned(),
            key: audit_key.subkey("audit anchor"),
        }
    }

    /// The heads the file holds; none when it does not exist yet.
    pub(crate) fn heads(&self) -> Result<BTreeMap<String, AnchoredHead>, AnchorError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => self.parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Raises the anchored heads to `heads` where they are newer (a head
    /// is never moved back). Blocking file work, brief: a small file.
    pub(crate) fn advance<'a>(
        &self,
        heads: impl IntoIterator<Item = (&'a str, AnchoredHead)>,
    ) -> Result<(), AnchorError> {
        let lock_path = self.path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.io(e))?;
        lock.lock().map_err(|e| self.io(e))?;
        let mut current = self.heads()?;
        let mut changed = false;
        for (chain, head) in heads {
            let newer = current.get(chain).is_none_or(|known| known.seq < head.seq);
            if newer {
                current.insert(chain.to_owned(), head);
                changed = true;
            }
        }
        if changed {
            self.write(&current)?;
        }
        Ok(())
    }

    fn write(&self, heads: &BTreeMap<String, AnchoredHead>) -> Result<(), AnchorError> {
        let mut text = format!("{HEADER}\n");
        for (chain, head) in heads {
            text.push_str(&format!(
                "{chain} {} {}\n",
                head.seq,
                hex::encode(&head.hash)
            ));
        }
        text.push_str(&format!("mac {}\n", hex::encode(self.mac(&text))));
        let fresh = self.path.with_extension("new");
        let written = (|| {
            let mut file = std::fs::File::create(&fresh)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&fresh, &self.path)?;
            // The rename itself reaches the disk with its directory.
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })();
        written.map_err(|e| self.io(e))
    }

    fn parse(&self, text: &str) -> Result<BTreeMap<String, AnchoredHead>, AnchorError> {
        let forged = || AnchorError::Forged {
            path: self.path.display().to_string(),
        };
        let body_end = text.rfind("mac ").ok_or_else(forged)?;
        let (body, mac_line) = text.split_at(body_end);
        let mac =
            hex::decode(mac_line.trim_end().trim_start_matches("mac ")).map_err(|_| forged())?;
        if self.mac(body) != mac {
            return Err(forged());
        }
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err(forged());
        }
        lines
            .map(|line| {
                let mut fields = line.split(' ');
                let (Some(chain), Some(seq), Some(hash), None) =
                    (fields.next(), fields.next(), fields.next(), fields.next())
                else {
                    return Err(forged());
                };
                let head = AnchoredHead {
                    seq: seq.parse().map_err(|_| forged())?,
                    hash: hex::decode(hash).map_err(|_| forged())?,
                };
                Ok((chain.to_owned(), head))
            })
            .collect()
    }

    fn mac(&self, text: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn io(&self, source: std::io::Error) -> AnchorError {
        AnchorError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;

    fn key(byte: u8) -> AuditKey {
        AuditKey::derive(&MasterKey::from_bytes([byte; 32]))
    }

    fn head(seq: i64) -> AnchoredHead {
        AnchoredHead {
            seq,
            hash: vec![seq as u8; 32],
        }
    }

    #[test]
    fn heads_only_move_forward_and_an_edited_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("limen-anchor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("audit-anchor");
        let anchor = AuditAnchor::new(&path, &key(1));
        assert!(anchor.heads().expect("no file yet").is_empty());

        anchor
            .advance([("org", head(3)), ("operator", head(1))])
            .expect("advance");
        anchor.advance([("org", head(2))]).expect("an older head");
        let heads = anchor.heads().expect("heads");
        assert_eq!(heads["org"], head(3), "a head never moves back");
        assert_eq!(heads["operator"], head(1));

        let other_key = AuditAnchor::new(&path, &key(2));
        assert!(matches!(other_key.heads(), Err(AnchorError::Forged { .. })));

        let text = std::fs::read_to_string(&path).expect("file");
        let without_org: String = text
            .lines()
            .filter(|l| !l.starts_with("org "))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, without_org).expect("edit");
        assert!(
            matches!(anchor.heads(), Err(AnchorError::Forged { .. })),
            "a chain dropped from the file without the key is noticed"
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
