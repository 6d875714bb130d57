//! Passwords (Argon2id) and bearer tokens. A token is shown once; the store keeps only its
//! SHA-256. Resolved tokens are cached briefly so a busy API does not read the store per request;
//! users are always checked against the live registry, so deactivation takes effect at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use domain::admin::AdminCommand;
use domain::ids::UserId;
use domain::org::{Actor, User};
use domain::time::LogTime;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use store::{Command, Secret, Submission};

use crate::App;
use crate::error::{AppError, AppResult};

/// A token as handed to its owner, once.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The bearer token: `Authorization: Bearer <token>`. Shown only now.
    pub token: String,
    pub id: String,
    #[schema(value_type = String)]
    pub user: UserId,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

const CACHE_SECONDS: i64 = 30;
/// The label of a token a login issues: a session, which ends when idle.
const SESSION_LABEL: &str = "login";
const CACHE_LIMIT: usize = 50_000;

#[derive(Default)]
pub(crate) struct TokenCache {
    resolved: Mutex<HashMap<[u8; 32], Cached>>,
    /// When each browser session was last used on this node, for the idle limit.
    used: Mutex<HashMap<[u8; 32], Timestamp>>,
}

#[derive(Clone)]
struct Cached {
    user: UserId,
    expires_at: Option<Timestamp>,
    checked_at: Timestamp,
    /// A login's session (label `login`), which ends when idle; API tokens do not.
    session: bool,
}

impl TokenCache {
    fn get(&self, hash: &[u8; 32], now: Timestamp) -> Option<Cached> {
        let cache = self.resolved.lock().ok()?;
        cache
            .get(hash)
            .filter(|c| now.duration_since(c.checked_at) < SignedDuration::from_secs(CACHE_SECONDS))
            .cloned()
    }

    fn put(&self, hash: [u8; 32], entry: Cached) {
        if let Ok(mut cache) = self.resolved.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(hash, entry);
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut cache) = self.resolved.lock() {
            cache.clear();
        }
    }

    /// Notes a session's use; returns when it was used before (on this node), if it was.
    fn used(&self, hash: [u8; 32], now: Timestamp) -> Option<Timestamp> {
        let mut used = self.used.lock().ok()?;
        if used.len() >= CACHE_LIMIT {
            used.clear();
        }
        used.insert(hash, now)
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// Argon2id with a random salt, in PHC string form.
pub fn hash_password(password: &str) -> AppResult<String> {
    if password.chars().count() < 8 {
        return Err(domain::DomainError::invalid("password", "use at least 8 characters").into());
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing a password failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A fixed hash to verify against when the user does not exist, so a login takes as long for
/// an unknown name as for a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";

impl App {
    /// Issues a bearer token for `user`; admins may issue for anyone, users for themselves.
    pub async fn issue_token(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: &UserId,
        label: &str,
        valid_for: Option<SignedDuration>,
    ) -> AppResult<IssuedToken> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let token = format!("ms_{}", hex::encode(secret));
        let hash = token_hash(&token);
        // The same id `logout` derives from a token.
        let id = hex::encode(&hash[..6]);
        let expires_at = valid_for.map(|d| now + d);
        let command = AdminCommand::IssueToken {
            token_id: id.clone(),
            user: user.clone(),
            label: label.to_owned(),
            expires_at,
        };
        self.submit(
            actor,
            now,
            Command::Admin {
                command,
                secret: Some(Secret::TokenHash(hash)),
            },
        )
        .await?;
        Ok(IssuedToken {
            token,
            id,
            user: user.clone(),
            expires_at,
        })
    }

    pub async fn revoke_token(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: &UserId,
        token_id: &str,
    ) -> AppResult<()> {
        let command = AdminCommand::RevokeToken {
            token_id: token_id.to_owned(),
            user: user.clone(),
        };
        self.submit(
            actor,
            now,
            Command::Admin {
                command,
                secret: None,
            },
        )
        .await?;
        self.tokens.clear();
        Ok(())
    }

    /// Ends a browser session: its token is revoked, so the cookie is worthless even if kept.
    pub async fn logout(&self, actor: &Actor, now: Timestamp, token: &str) -> AppResult<()> {
        let user = actor
            .user_id()
            .ok_or_else(|| AppError::Unauthenticated("only a user can log out".into()))?
            .clone();
        let id = hex::encode(&token_hash(token)[..6]);
        self.revoke_token(actor, now, &user, &id).await
    }

    /// Checks a user name and password from `address` and issues a token valid for `valid_for`.
    /// After a few failures of that account at that address (or many at that address) each try
    /// waits a growing back-off (`TooMany`, without checking the password); every failure is
    /// recorded in the log with the name and address.
    pub async fn login(
        &self,
        now: Timestamp,
        username: &str,
        password: &str,
        valid_for: SignedDuration,
        address: IpAddr,
    ) -> AppResult<(IssuedToken, User)> {
        let account: String = username.trim().chars().take(64).collect();
        if let Some(wait) = self.logins.wait(&account, address, now) {
            return Err(AppError::TooMany(format!(
                "too many failed logins for this account from this address; try again in {} s",
                wait.as_secs().max(1)
            )));
        }
        let user = UserId::parse(&account)
            .ok()
            .and_then(|id| self.registry().users.get(&id).cloned());
        let stored = match &user {
            Some(u) => self.store.password_hash(&u.id).await?,
            None => None,
        };
        let (password, hash) = (
            password.to_owned(),
            stored.clone().unwrap_or_else(|| DUMMY_HASH.to_owned()),
        );
        let matches = self.passwords.verify(password, hash).await?;
        let (Some(user), true, true) = (user, matches, stored.is_some()) else {
            self.logins.failed(&account, address, now);
            let event = domain::access::AccessEvent::LoginFailed {
                username: account,
                address: address.to_string(),
            };
            self.record_access(&Actor::system("login"), now, event)
                .await?;
            return Err(AppError::Unauthenticated(
                "wrong user name or password".into(),
            ));
        };
        self.logins.succeeded(&account, address);
        if !user.active {
            return Err(AppError::Unauthenticated(format!(
                "the account {} is deactivated; ask an administrator",
                user.id
            )));
        }
        let token = self
            .issue_token(&user.actor(), now, &user.id, SESSION_LABEL, Some(valid_for))
            .await?;
        Ok((token, user))
    }

    /// The actor behind a bearer token.
    pub async fn authenticate(&self, now: Timestamp, token: &str) -> AppResult<Actor> {
        let hash = token_hash(token);
        let cached = match self.tokens.get(&hash, now) {
            Some(c) => c,
            None => {
                let record = self
                    .store
                    .token(hash)
                    .await?
                    .ok_or_else(|| AppError::Unauthenticated("unknown token".into()))?;
                if record.revoked_at.is_some() {
                    return Err(AppError::Unauthenticated(
                        "this token was revoked; log in again".into(),
                    ));
                }
                let entry = Cached {
                    user: record.user,
                    expires_at: record.expires_at,
                    checked_at: now,
                    session: record.label == SESSION_LABEL,
                };
                self.tokens.put(hash, entry.clone());
                entry
            }
        };
        if cached.expires_at.is_some_and(|t| now >= t) {
            return Err(AppError::Unauthenticated(
                "this token has expired; log in again".into(),
            ));
        }
        if cached.session {
            let minutes = self.registry().rules.policy.privacy.session_idle_minutes;
            let idle = SignedDuration::from_mins(i64::from(minutes));
            if let Some(last) = self.tokens.used(hash, now)
                && now.duration_since(last) > idle
            {
                // Ended for good, on every node: the token is revoked.
                let id = hex::encode(&hash[..6]);
                self.revoke_token(&Actor::system("session"), now, &cached.user, &id)
                    .await?;
                return Err(AppError::Unauthenticated(format!(
                    "this session was idle for more than {minutes} minutes; log in again"
                )));
            }
        }
        let registry = self.registry();
        let user = registry
            .users
            .get(&cached.user)
            .ok_or_else(|| AppError::Unauthenticated("unknown user".into()))?;
        if !user.active {
            return Err(AppError::Unauthenticated(format!(
                "the account {} is deactivated",
                user.id
            )));
        }
        Ok(user.actor())
    }

    pub(crate) async fn submit(
        &self,
        actor: &Actor,
        now: Timestamp,
        mut command: Command,
    ) -> AppResult<store::Committed> {
        self.shield(now, &mut command).await?;
        Ok(self
            .store
            .submit(Submission {
                actor: actor.clone(),
                // Where the clock enters the write path: at the log's resolution.
                now: LogTime::of(now),
                command,
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse!", &hash));
        assert!(hash_password("short").is_err());
        assert!(!verify_password("anything", DUMMY_HASH));
        // The stand-in hash must parse, or a login for an unknown name would return at once and
        // tell the caller that the name does not exist.
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
