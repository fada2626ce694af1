//! Counters that forget by themselves: per-key state kept for one to two
//! windows, in two generations of hash maps. Every call costs one hash
//! lookup under a shard's lock, whatever the number of keys; when a window
//! has passed, or a generation holds as many keys as it may, the older
//! generation is dropped whole. Memory is bounded by the key cap however
//! many addresses or names an attacker rotates through; the price of
//! hitting the cap is that keys are forgotten early, never that a call
//! slows down or the process grows. In memory: each instance limits its
//! own traffic, which bounds guessing to a known multiple of the limits.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Shards, so that concurrent requests rarely wait on one another's lock.
const SHARDS: usize = 16;

pub struct ExpiringMap<K, V> {
    window: Duration,
    /// Keys per generation per shard.
    shard_cap: usize,
    hasher: RandomState,
    shards: Vec<Mutex<Generations<K, V>>>,
}

struct Generations<K, V> {
    started: Instant,
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
}

impl<K: Hash + Eq + Clone, V: Default> ExpiringMap<K, V> {
    /// A map whose entries live between `window` and twice that, holding
    /// at most about `2 × max_keys` entries.
    pub fn new(window: Duration, max_keys: usize) -> ExpiringMap<K, V> {
        let now = Instant::now();
        ExpiringMap {
            window,
            shard_cap: max_keys.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Generations {
                        started: now,
                        current: HashMap::new(),
                        previous: HashMap::new(),
                    })
                })
                .collect(),
        }
    }

    fn shard(&self, key: &K) -> MutexGuard<'_, Generations<K, V>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        let mut shard = self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let age = now.duration_since(shard.started);
        if age >= 2 * self.window {
            shard.previous.clear();
            shard.current.clear();
            shard.started = now;
        } else if age >= self.window {
            shard.previous = std::mem::take(&mut shard.current);
            shard.started = now;
        }
        shard
    }

    /// Runs `change` on the key's value (the default when it has none or
    /// has been forgotten), keeping the result for the next window.
    pub fn update<R>(&self, key: &K, change: impl FnOnce(&mut V) -> R) -> R {
        let mut shard = self.shard(key);
        if let Some(value) = shard.current.get_mut(key) {
            return change(value);
        }
        let mut value = shard.previous.remove(key).unwrap_or_default();
        let result = change(&mut value);
        if shard.current.len() >= self.shard_cap {
            shard.previous = std::mem::take(&mut shard.current);
        }
        shard.current.insert(key.clone(), value);
        result
    }

    /// Reads the key's value without keeping it alive.
    pub fn read<R>(&self, key: &K, look: impl FnOnce(Option<&V>) -> R) -> R {
        let shard = self.shard(key);
        look(shard.current.get(key).or_else(|| shard.previous.get(key)))
    }

    pub fn remove(&self, key: &K) {
        let mut shard = self.shard(key);
        shard.current.remove(key);
        shard.previous.remove(key);
    }
}

/// At most `limit` events per key in a window (counted over the current
/// window and the one before it, so a burst cannot straddle two windows
/// for twice the limit).
pub struct RateLimiter {
    limit: u32,
    counts: ExpiringMap<String, u32>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            counts: ExpiringMap::new(window, 100_000),
        }
    }

    /// Counts an event under `key`; false when the key is over its limit.
    pub fn allow(&self, key: &str) -> bool {
        self.counts.update(&key.to_owned(), |count| {
            *count = count.saturating_add(1);
            *count <= self.limit
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_beyond_the_limit_are_refused_per_key() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| limiter.allow("a")));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"));
        let short = RateLimiter::new(1, Duration::from_millis(1));
        assert!(short.allow("a"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.allow("a"), "two windows later it starts afresh");
    }

    #[test]
    fn memory_stays_bounded_when_keys_rotate() {
        let map: ExpiringMap<u64, u32> = ExpiringMap::new(Duration::from_secs(3600), 1_000);
        for key in 0..1_000_000u64 {
            map.update(&key, |count| *count += 1);
        }
        let held: usize = map
            .shards
            .iter()
            .map(|shard| {
                let shard = shard.lock().expect("lock");
                shard.current.len() + shard.previous.len()
            })
            .sum();
        assert!(held <= 2 * 1_008, "holds {held} keys");
        // The most recent keys are still counted.
        map.read(&999_999, |count| assert_eq!(count, Some(&1)));
    }
}
