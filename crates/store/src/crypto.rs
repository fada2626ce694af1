//! Envelope encryption (AES-256-GCM throughout): each person's set of
//! vectors is sealed under a key of its own, wrapped by their
//! organisation's random data key; the data key is stored only wrapped
//! (encrypted) by the operator's master key, as is the audit chains' key. Deleting the wrapped key makes the live database's copy of
//! that organisation's vectors undecryptable; older copies (backups) hold
//! their own wrapped key, which only a rotation of the master key (see the
//! `rotation` module) makes useless.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the master key file {path} must hold exactly 32 bytes")]
    Length { path: String },
    #[error("the master key file {path} must not be readable by group or others (chmod 600)")]
    Permissions { path: String },
}

#[derive(Debug, thiserror::Error)]
#[error("decryption failed: wrong key or tampered data")]
pub struct DecryptError;

/// The operator's key. It never leaves this process and only wraps data keys.
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl MasterKey {
    /// Reads the key file, or creates it with 32 random bytes and mode 0600
    /// when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(mut bytes) => {
                let result = Self::from_file_bytes(&bytes, path);
                bytes.zeroize();
                let result = result?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
                    if mode & 0o077 != 0 {
                        return Err(KeyError::Permissions {
                            path: path.display().to_string(),
                        });
                    }
                }
                Ok(result)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                MasterKey::create_at(path)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A new random key, written to `path` (which must not exist yet)
    /// with mode 0600 and synced to disk.
    pub fn create_at(path: &Path) -> Result<MasterKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(key.as_mut());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        file.write_all(key.as_ref()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(MasterKey(key))
    }

    fn from_file_bytes(bytes: &[u8], path: &Path) -> Result<MasterKey, KeyError> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| KeyError::Length {
            path: path.display().to_string(),
        })?;
        Ok(MasterKey(Zeroizing::new(array)))
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }

    /// A key for a purpose other than wrapping (for example CSRF tokens),
    /// derived so that the master key itself is never used twice.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"limen key derivation\0");
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(self.0.as_ref());
        Zeroizing::new(hasher.finalize().into())
    }

    /// A fresh data key for an organisation, and its wrapped form.
    pub(crate) fn new_data_key(&self, org_id: &str) -> (DataKey, Vec<u8>) {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(key.as_mut());
        let wrapped = self.wrap_key(&key, org_id);
        (DataKey(key), wrapped)
    }

    pub(crate) fn unwrap_data_key(
        &self,
        wrapped: &[u8],
        org_id: &str,
    ) -> Result<DataKey, DecryptError> {
        self.unwrap_key(wrapped, org_id).map(DataKey)
    }

    /// Wraps a key for storage, bound to `context` (what it is for).
    pub(crate) fn wrap_key(&self, key: &[u8; KEY_LEN], context: &str) -> Vec<u8> {
        seal(&self.0, key, context.as_bytes())
    }

    pub(crate) fn unwrap_key(
        &self,
        wrapped: &[u8],
        context: &str,
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, DecryptError> {
        let plain = open(&self.0, wrapped, context.as_bytes())?;
        let array: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| DecryptError)?;
        Ok(Zeroizing::new(array))
    }
}

/// A key held only while in use: an organisation's data key, or the key
/// of one person's vectors that it wraps.
pub(crate) struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl DataKey {
    /// A fresh key, and its form wrapped by this one, bound to `context`.
    pub(crate) fn new_wrapped_key(&self, context: &[u8]) -> (DataKey, Vec<u8>) {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(key.as_mut());
        let wrapped = seal(&self.0, key.as_ref(), context);
        (DataKey(key), wrapped)
    }

    pub(crate) fn unwrap_key(
        &self,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<DataKey, DecryptError> {
        let plain = open(&self.0, wrapped, context)?;
        let array: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| DecryptError)?;
        Ok(DataKey(Zeroizing::new(array)))
    }

    /// This key wrapped by another: for re-wrapping under a new data key.
    pub(crate) fn wrapped_by(&self, other: &DataKey, context: &[u8]) -> Vec<u8> {
        seal(&other.0, self.0.as_ref(), context)
    }

    pub(crate) fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        seal(&self.0, plaintext, context)
    }

    pub(crate) fn open(
        &self,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        open(&self.0, sealed, context)
    }
}

/// AES-256-GCM with a random nonce; the output is nonce || ciphertext+tag.
/// `context` is authenticated but not stored, binding the ciphertext to the
/// row it belongs to so that it cannot be moved to another person or model.
fn seal(key: &[u8; KEY_LEN], plaintext: &[u8], context: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let payload = Payload {
        msg: plaintext,
        aad: context,
    };
    // Encryption fails only for messages beyond GCM's 64 GiB limit.
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), payload)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open(
    key: &[u8; KEY_LEN],
    sealed: &[u8],
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    if sealed.len() < NONCE_LEN {
        return Err(DecryptError);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: context,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| DecryptError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_open_only_with_their_master_key_and_organisation() {
        let master = MasterKey::from_bytes([7; 32]);
        let (_, wrapped) = master.new_data_key("org-a");
        let key = master.unwrap_data_key(&wrapped, "org-a").expect("unwrap");
        let sealed = key.seal(b"secret", b"row");
        assert_eq!(
            key.open(&sealed, b"row").expect("open").as_slice(),
            b"secret"
        );
        assert!(key.open(&sealed, b"other row").is_err());
        assert!(master.unwrap_data_key(&wrapped, "org-b").is_err());
        assert!(
            MasterKey::from_bytes([8; 32])
                .unwrap_data_key(&wrapped, "org-a")
                .is_err()
        );
    }

    #[test]
    fn master_key_file_is_created_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("limen-key-{}", std::process::id()));
        let path = dir.join("master.key");
        let _ = std::fs::remove_dir_all(&dir);
        let first = MasterKey::load_or_create(&path).expect("create");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = MasterKey::load_or_create(&path).expect("read");
        assert_eq!(first.0.as_ref(), second.0.as_ref());
        std::fs::write(&path, b"short").expect("write");
        assert!(matches!(
            MasterKey::load_or_create(&path),
            Err(KeyError::Length { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
