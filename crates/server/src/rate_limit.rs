//! Fixed-window attempt counters for login and registration, per client
//! address and per account name. In memory: each instance limits its own
//! traffic, which bounds guessing to a known multiple of the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt under `key`; false when the key is over its limit.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_beyond_the_limit_are_refused_per_key() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| limiter.allow("a")));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"));
        let short = RateLimiter::new(1, Duration::from_millis(1));
        assert!(short.allow("a"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.allow("a"), "a new window starts afresh");
    }
}
