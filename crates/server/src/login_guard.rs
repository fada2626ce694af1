//! Slows password guessing without locking anyone out. Only failures
//! count. A client address (an IPv6 /64) that fails many times is refused
//! for a while: that stops one source, and hurts nobody else. An account
//! that fails more than a few times makes every further attempt wait an
//! exponentially growing delay, capped at a minute, so guessing one
//! account from rotating addresses is slow; yet the owner, from an address
//! they have logged in from before, is not held back, and anyone else
//! with the right password gets in once the delay has passed.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use limen_domain::EmailAddress;
use limen_services::ServiceError;

use crate::client::ClientGroup;
use crate::error::ApiError;
use crate::i18n::Text;
use crate::rate_limit::ExpiringMap;

/// Failures one client address may make in [`ADDRESS_WINDOW`].
const ADDRESS_FAILURES: u32 = 50;
const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures an account takes before its attempts are delayed.
const FREE_ACCOUNT_FAILURES: u32 = 5;
/// The longest delay between two attempts on an account.
const MAX_ACCOUNT_DELAY: Duration = Duration::from_secs(60);
/// How long failures on an account are remembered.
const ACCOUNT_WINDOW: Duration = Duration::from_secs(60 * 60);
/// How long an address stays known-good for an account after a login.
const KNOWN_GOOD_WINDOW: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Keys each table holds (per generation) before it forgets early.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
struct AccountFailures {
    count: u32,
    last: Option<Instant>,
}

impl AccountFailures {
    /// When the next attempt may be made.
    fn next_attempt(&self) -> Option<Instant> {
        let over = self.count.checked_sub(FREE_ACCOUNT_FAILURES)?;
        let delay = Duration::from_secs(1u64 << over.min(16)).min(MAX_ACCOUNT_DELAY);
        Some(self.last? + delay)
    }
}

pub struct LoginGuard {
    by_address: ExpiringMap<ClientGroup, u32>,
    by_account: ExpiringMap<String, AccountFailures>,
    known_good: ExpiringMap<(String, ClientGroup), ()>,
}

impl Default for LoginGuard {
    fn default() -> LoginGuard {
        LoginGuard {
            by_address: ExpiringMap::new(ADDRESS_WINDOW, MAX_KEYS),
            by_account: ExpiringMap::new(ACCOUNT_WINDOW, MAX_KEYS),
            known_good: ExpiringMap::new(KNOWN_GOOD_WINDOW, MAX_KEYS),
        }
    }
}

impl LoginGuard {
    /// A sign-in with an e-mail address and a password, an employee's or
    /// an admin's, through [`LoginGuard::attempt`]. The account is the
    /// address as typed, lower-cased, after `kind` (admins' accounts are
    /// counted apart from employees' with the same address); an address
    /// that is not one fails as a wrong password does.
    pub async fn sign_in<T, F>(
        &self,
        kind: &str,
        email: &str,
        client: ClientGroup,
        sign_in: impl FnOnce(EmailAddress) -> F,
    ) -> Result<T, ApiError>
    where
        F: Future<Output = Result<T, ServiceError>>,
    {
        let account = format!("{kind}{}", email.trim().to_lowercase());
        let login = async {
            match EmailAddress::parse(email) {
                Ok(email) => sign_in(email).await,
                Err(_) => Err(ServiceError::WrongCredentials),
            }
        };
        self.attempt(&account, client, login).await
    }

    /// Makes one login attempt for `account` from `client` if it may be
    /// made now (429 with the wait otherwise), and counts it: a refused
    /// password or second-factor code as a failure, a login as a
    /// known-good address.
    pub async fn attempt<T>(
        &self,
        account: &str,
        client: ClientGroup,
        login: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ApiError> {
        self.check(account, client).map_err(|wait| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed login attempts; wait a little and try again",
            )
            .with_text(Text::new("error-too-many-logins"))
            .with_retry_after(wait)
        })?;
        match login.await {
            Ok(session) => {
                self.succeeded(account, client);
                Ok(session)
            }
            Err(e) => {
                if matches!(e, ServiceError::WrongCredentials | ServiceError::WrongCode) {
                    self.failed(account, client);
                }
                Err(e.into())
            }
        }
    }

    /// Whether `client` may try a password for `account` now; if not, how
    /// long to wait.
    pub fn check(&self, account: &str, client: ClientGroup) -> Result<(), Duration> {
        let address_failures = self.by_address.read(&client, |n| n.copied().unwrap_or(0));
        if address_failures >= ADDRESS_FAILURES {
            return Err(ADDRESS_WINDOW);
        }
        if self.is_known_good(account, client) {
            return Ok(());
        }
        let now = Instant::now();
        let next = self.by_account.read(&account.to_owned(), |failures| {
            failures.and_then(AccountFailures::next_attempt)
        });
        match next {
            Some(next) if next > now => Err(next - now),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, account: &str, client: ClientGroup) {
        self.by_address
            .update(&client, |n| *n = n.saturating_add(1));
        self.by_account.update(&account.to_owned(), |failures| {
            failures.count = failures.count.saturating_add(1);
            failures.last = Some(Instant::now());
        });
    }

    pub fn succeeded(&self, account: &str, client: ClientGroup) {
        self.by_account.remove(&account.to_owned());
        self.known_good
            .update(&(account.to_owned(), client), |()| ());
    }

    fn is_known_good(&self, account: &str, client: ClientGroup) -> bool {
        self.known_good
            .read(&(account.to_owned(), client), |seen| seen.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> ClientGroup {
        ClientGroup::of(text.parse().expect("address"))
    }

    #[test]
    fn failures_delay_the_account_but_not_its_known_good_address() {
        let guard = LoginGuard::default();
        let owner = client("192.0.2.10");
        guard.succeeded("a@example.org", owner);
        for n in 0..FREE_ACCOUNT_FAILURES + 3 {
            let attacker = client(&format!("198.51.100.{n}"));
            assert_eq!(
                guard.check("a@example.org", attacker).is_ok(),
                n < FREE_ACCOUNT_FAILURES,
                "attempt {n}: free until the free failures are spent, delayed after"
            );
            guard.failed("a@example.org", attacker);
        }
        let wait = guard
            .check("a@example.org", client("203.0.113.1"))
            .expect_err("a new address waits");
        assert!(
            wait > Duration::from_secs(4) && wait <= Duration::from_secs(8),
            "{wait:?}"
        );
        assert!(
            guard.check("a@example.org", owner).is_ok(),
            "the owner is not held back"
        );
        assert!(guard.check("b@example.org", client("203.0.113.1")).is_ok());
    }

    #[test]
    fn the_delay_is_capped_and_an_address_that_fails_often_is_refused() {
        let guard = LoginGuard::default();
        let attacker = client("2001:db8::1");
        for _ in 0..100 {
            guard.failed("a@example.org", client("198.51.100.1"));
        }
        let wait = guard
            .check("a@example.org", client("203.0.113.1"))
            .expect_err("waits");
        assert!(wait <= MAX_ACCOUNT_DELAY);
        for n in 0..ADDRESS_FAILURES {
            guard.failed(&format!("user{n}@example.org"), attacker);
        }
        assert!(
            guard
                .check("new@example.org", client("2001:db8::ffff"))
                .is_err(),
            "the whole /64 is refused"
        );
        assert!(
            guard
                .check("new@example.org", client("2001:db9::1"))
                .is_ok()
        );
    }
}
