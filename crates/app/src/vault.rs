//! The privacy vault: citizens' contacts sealed with XChaCha20-Poly1305 before they reach the
//! store, and a keyed hash (HMAC-SHA256) of the phone number so an operator can find a caller's
//! earlier tickets without decrypting anything.
//!
//! Keys live in a key file outside the database (mode 0600), so the database alone reveals no
//! one. Data keys carry an id so they can rotate: new contacts use the newest key, old ones open
//! with theirs. The index key cannot rotate without re-indexing and is kept for the installation's
//! life.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::ids::ContactId;
use domain::numbers::WrittenNumber;
use domain::phone::PhoneNumber;
use domain::privacy::Contact;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use store::{SealedContact, SealedNumbers, SealedPhoto, StoredNumbers};

use crate::error::{AppError, AppResult};

const AD_PREFIX: &[u8] = b"minsheng.contact.v1";

pub struct Vault {
    data_keys: BTreeMap<u32, [u8; 32]>,
    index_key: [u8; 32],
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Vault({} data key(s), keys redacted)",
            self.data_keys.len()
        )
    }
}

impl Vault {
    /// Reads the key file, or creates one with fresh keys (mode 0600) if it does not exist.
    /// Returns whether it was created.
    pub fn open_or_create(path: &Path) -> AppResult<(Vault, bool)> {
        if path.exists() {
            refuse_if_others_can_read(path)?;
            let text = std::fs::read_to_string(path).map_err(|e| {
                AppError::Internal(format!("cannot read the key file {}: {e}", path.display()))
            })?;
            return Ok((
                Self::parse(&text)
                    .map_err(|e| AppError::Internal(format!("key file {}: {e}", path.display())))?,
                false,
            ));
        }
        let vault = Self::generate()?;
        write_private(path, &vault.to_file())?;
        Ok((vault, true))
    }

    pub fn generate() -> AppResult<Vault> {
        Ok(Vault {
            data_keys: BTreeMap::from([(1, random_key()?)]),
            index_key: random_key()?,
        })
    }

    /// Key file format: `data-key <id> <64 hex>` lines (the highest id seals new contacts) and
    /// one `index-key <64 hex>` line; `#` starts a comment.
    pub fn parse(text: &str) -> Result<Vault, String> {
        let mut data_keys = BTreeMap::new();
        let mut index_key = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            let key = |hex_text: &str| -> Result<[u8; 32], String> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(hex_text, &mut out)
                    .map_err(|_| format!("line {}: a key is 64 hex digits", i + 1))?;
                Ok(out)
            };
            match words.as_slice() {
                [] => {}
                ["version", "1"] => {}
                ["data-key", id, hex_text] => {
                    let id: u32 = id
                        .parse()
                        .map_err(|_| format!("line {}: bad key id {id:?}", i + 1))?;
                    data_keys.insert(id, key(hex_text)?);
                }
                ["index-key", hex_text] => index_key = Some(key(hex_text)?),
                _ => return Err(format!("line {}: not understood", i + 1)),
            }
        }
        let index_key = index_key.ok_or("no index-key line")?;
        if data_keys.is_empty() {
            return Err("no data-key line".into());
        }
        Ok(Vault {
            data_keys,
            index_key,
        })
    }

    fn to_file(&self) -> String {
        let mut out = String::from(
            "# minsheng key file. Keep it secret and back it up apart from the database:\n\
             # without it the citizens' contacts in the database cannot be read.\nversion 1\n",
        );
        for (id, key) in &self.data_keys {
            out += &format!("data-key {id} {}\n", hex::encode(key));
        }
        out += &format!("index-key {}\n", hex::encode(self.index_key));
        out
    }

    /// Seals a contact under the newest data key; the contact id is bound in as associated
    /// data, so a sealed record cannot be moved to another id.
    pub fn seal(&self, id: ContactId, contact: &Contact) -> AppResult<SealedContact> {
        let plaintext =
            serde_json::to_vec(contact).map_err(|e| AppError::Internal(e.to_string()))?;
        let (key_id, nonce, ciphertext) = self.encrypt(&associated_data(id), &plaintext)?;
        Ok(SealedContact {
            id,
            key_id,
            nonce,
            ciphertext,
            phone_index: contact.phone.as_ref().map(|p| self.phone_index(p)),
        })
    }

    pub fn open(&self, sealed: &SealedContact) -> AppResult<Contact> {
        let what = format!("contact {}", sealed.id);
        let plaintext = self.decrypt(
            &what,
            sealed.key_id,
            &sealed.nonce,
            &associated_data(sealed.id),
            &sealed.ciphertext,
        )?;
        serde_json::from_slice(&plaintext).map_err(|e| AppError::Internal(format!("{what}: {e}")))
    }

    /// Seals a photo like a contact, bound to a fresh id.
    pub fn seal_photo(
        &self,
        now: Timestamp,
        bytes: &[u8],
        content_type: &str,
    ) -> AppResult<SealedPhoto> {
        let id = new_record_id(now)?;
        let (key_id, nonce, ciphertext) = self.encrypt(&photo_data(id), bytes)?;
        Ok(SealedPhoto {
            id,
            key_id,
            nonce,
            ciphertext,
            content_type: content_type.to_owned(),
        })
    }

    pub fn open_photo(&self, sealed: &SealedPhoto) -> AppResult<Vec<u8>> {
        let what = format!("photo {}", sealed.id);
        self.decrypt(
            &what,
            sealed.key_id,
            &sealed.nonce,
            &photo_data(sealed.id),
            &sealed.ciphertext,
        )
    }

    /// Seals the numbers typed into one command's text, bound to a fresh id.
    pub fn seal_numbers(
        &self,
        now: Timestamp,
        numbers: &[WrittenNumber],
    ) -> AppResult<SealedNumbers> {
        let id = new_record_id(now)?;
        let plaintext =
            serde_json::to_vec(numbers).map_err(|e| AppError::Internal(e.to_string()))?;
        let (key_id, nonce, ciphertext) = self.encrypt(&numbers_data(id), &plaintext)?;
        Ok(SealedNumbers {
            id,
            listed: numbers.iter().map(|n| n.sealed.clone()).collect(),
            key_id,
            nonce,
            ciphertext,
        })
    }

    pub fn open_numbers(&self, stored: &StoredNumbers) -> AppResult<Vec<WrittenNumber>> {
        let what = format!("numbers {}", stored.id);
        let plaintext = self.decrypt(
            &what,
            stored.key_id,
            &stored.nonce,
            &numbers_data(stored.id),
            &stored.ciphertext,
        )?;
        serde_json::from_slice(&plaintext).map_err(|e| AppError::Internal(format!("{what}: {e}")))
    }

    /// XChaCha20-Poly1305 under the newest data key with a random nonce.
    fn encrypt(&self, ad: &[u8], plaintext: &[u8]) -> AppResult<(u32, Vec<u8>, Vec<u8>)> {
        let (&key_id, key) = self
            .data_keys
            .last_key_value()
            .ok_or_else(|| AppError::Internal("the vault has no data key".into()))?;
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce)
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let ciphertext = XChaCha20Poly1305::new(key.into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: ad,
                },
            )
            .map_err(|_| AppError::Internal("sealing failed".into()))?;
        Ok((key_id, nonce.to_vec(), ciphertext))
    }

    fn decrypt(
        &self,
        what: &str,
        key_id: u32,
        nonce: &[u8],
        ad: &[u8],
        ciphertext: &[u8],
    ) -> AppResult<Vec<u8>> {
        let key = self.data_keys.get(&key_id).ok_or_else(|| {
            AppError::Internal(format!(
                "{what} is sealed with key {key_id}, which the key file does not have"
            ))
        })?;
        let nonce: [u8; 24] = nonce
            .try_into()
            .map_err(|_| AppError::Internal(format!("{what} has a malformed nonce")))?;
        XChaCha20Poly1305::new(key.into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: ad,
                },
            )
            .map_err(|_| {
                AppError::Internal(format!(
                    "{what} does not authenticate: wrong key or altered data"
                ))
            })
    }

    /// HMAC-SHA256 of the normalised number under the index key.
    pub fn phone_index(&self, phone: &PhoneNumber) -> [u8; 32] {
        // HMAC takes keys of any length; a 32-byte key never fails.
        let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.index_key) else {
            return [0; 32];
        };
        mac.update(phone.as_str().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A tag only this installation can make for `message` (HMAC-SHA256 under the index key,
    /// kept apart from phone indexes by `purpose`): proof that the server issued something.
    pub fn tag(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.index_key) else {
            return [0; 32];
        };
        mac.update(b"minsheng.tag.v1\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// A fresh contact id (see [`new_record_id`]).
    pub fn new_contact_id(now: Timestamp) -> AppResult<ContactId> {
        Ok(ContactId(new_record_id(now)?))
    }
}

/// A fresh id for a sealed record (a contact, a photo, the numbers typed into a command): the
/// time in milliseconds since 2020, then a counter of this process's that starts at a random
/// point. Time-ordered, so a new record is appended at the end of its table and of the indexes
/// that hold it; random ids put every new contact on a random page of `contacts` and
/// `tickets_by_contact`, and each commit wrote a 4 KB page to the WAL per ticket for each of them
/// (about 10 KB of the 21 KB a ticket cost). The time says nothing the ticket's `received_at`
/// does not, and these ids never leave the server. Ids are unique within a process (up to 2^20 in
/// one millisecond); two processes writing in the same millisecond collide only if their counters
/// meet (a one-in-a-million chance per millisecond both write in), which the store refuses as a
/// conflict rather than overwrite.
pub fn new_record_id(now: Timestamp) -> AppResult<u64> {
    const COUNTER_BITS: u32 = 20;
    const EPOCH_MS: i64 = 1_577_836_800_000; // 2020-01-01T00:00:00Z
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let counter = match NEXT.get() {
        Some(counter) => counter,
        None => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes)
                .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
            NEXT.get_or_init(|| AtomicU64::new(u64::from_le_bytes(bytes)))
        }
    };
    let low = counter.fetch_add(1, Ordering::Relaxed) & ((1 << COUNTER_BITS) - 1);
    // 42 bits of milliseconds last until 2159; the id stays a positive signed 64-bit integer.
    let ms = (now.as_millisecond() - EPOCH_MS).clamp(0, (1 << 42) - 1) as u64;
    Ok(((ms << COUNTER_BITS) | low).max(1))
}

/// A photo's associated data: its own prefix, so a sealed contact cannot pass for a photo.
fn photo_data(id: u64) -> Vec<u8> {
    let mut ad = b"minsheng-photo-v1:".to_vec();
    ad.extend_from_slice(&id.to_be_bytes());
    ad
}

/// Sealed numbers' associated data: their own prefix, like a photo's.
fn numbers_data(id: u64) -> Vec<u8> {
    let mut ad = b"minsheng-numbers-v1:".to_vec();
    ad.extend_from_slice(&id.to_be_bytes());
    ad
}

fn associated_data(id: ContactId) -> Vec<u8> {
    let mut ad = AD_PREFIX.to_vec();
    ad.extend_from_slice(&id.0.to_be_bytes());
    ad
}

fn random_key() -> AppResult<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(key)
}

/// A key file that anyone but its owner can read gives every local account the citizens'
/// contacts: refused, with what to do.
fn refuse_if_others_can_read(path: &Path) -> AppResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| {
                AppError::Internal(format!("cannot read the key file {}: {e}", path.display()))
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AppError::Internal(format!(
                "the key file {} can be read by others (mode {:o}); it unlocks every citizen's contact. \
                 Make it private with `chmod 600 {}` and start again",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> AppResult<()> {
    let fail = |e: std::io::Error| {
        AppError::Internal(format!("cannot write the key file {}: {e}", path.display()))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)
}

#[cfg(test)]
mod tests {

    #[test]
    fn record_ids_follow_time_and_never_repeat() {
        let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap();
        let same: Vec<u64> = (0..1000)
            .map(|_| new_record_id(at(1_764_547_200_000)).unwrap())
            .collect();
        let distinct: std::collections::BTreeSet<u64> = same.iter().copied().collect();
        assert_eq!(distinct.len(), same.len(), "unique within one millisecond");
        let later = new_record_id(at(1_764_547_200_001)).unwrap();
        assert!(
            same.iter().all(|id| *id < later),
            "a later millisecond sorts after"
        );
        assert!(
            i64::try_from(later).is_ok(),
            "a positive signed 64-bit integer"
        );
        assert!(
            new_record_id(at(0)).unwrap() >= 1,
            "before 2020 clamps, never 0"
        );
    }

    use super::*;

    fn contact() -> Contact {
        Contact::new(
            Some("王小明"),
            Some("13800138000"),
            Some("湖滨街道幸福里3栋"),
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn sealed_contacts_open_only_with_their_id_and_key() {
        let vault = Vault::generate().unwrap();
        let sealed = vault.seal(ContactId(7), &contact()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed.ciphertext).contains("13800138000"));
        assert_eq!(vault.open(&sealed).unwrap(), contact());

        let mut moved = sealed.clone();
        moved.id = ContactId(8);
        assert!(vault.open(&moved).is_err());
        let mut altered = sealed.clone();
        altered.ciphertext[0] ^= 1;
        assert!(vault.open(&altered).is_err());
        assert!(Vault::generate().unwrap().open(&sealed).is_err());
    }

    #[test]
    fn the_phone_index_is_stable_and_keyed() {
        let vault = Vault::generate().unwrap();
        let a = PhoneNumber::parse("138 0013 8000").unwrap();
        let b = PhoneNumber::parse("+8613800138000").unwrap();
        assert_eq!(vault.phone_index(&a), vault.phone_index(&b));
        assert_ne!(
            vault.phone_index(&a),
            Vault::generate().unwrap().phone_index(&a)
        );
    }

    #[test]
    fn the_key_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let (created, fresh) = Vault::open_or_create(&path).unwrap();
        assert!(fresh);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (reopened, fresh) = Vault::open_or_create(&path).unwrap();
        assert!(!fresh);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let refused = Vault::open_or_create(&path).unwrap_err().to_string();
            assert!(refused.contains("chmod 600"), "{refused}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let sealed = created.seal(ContactId(1), &contact()).unwrap();
        assert_eq!(reopened.open(&sealed).unwrap(), contact());
        assert!(Vault::parse("data-key 1 00").is_err());
        assert!(format!("{created:?}").contains("redacted"));
    }
}
