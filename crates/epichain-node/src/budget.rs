//! Token buckets: a rate with a burst, refilled from the caller's clock (no runtime types here).

/// A budget of `burst` tokens refilled at `per_second` tokens a second.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    per_second: u32,
    burst: u32,
    /// Tokens in thousandths, so that slow rates refill smoothly.
    milli_tokens: u64,
    updated_ms: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_second: u32, burst: u32, now_ms: u64) -> Self {
        TokenBucket {
            per_second,
            burst,
            milli_tokens: u64::from(burst) * 1_000,
            updated_ms: now_ms,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now_ms: u64) -> bool {
        self.take_many(1, now_ms)
    }

    /// Takes `count` tokens if there are that many (a request that costs more than one).
    pub fn take_many(&mut self, count: u32, now_ms: u64) -> bool {
        let elapsed_ms = now_ms.saturating_sub(self.updated_ms);
        self.updated_ms = self.updated_ms.max(now_ms);
        let refill = elapsed_ms.saturating_mul(u64::from(self.per_second));
        self.milli_tokens = self
            .milli_tokens
            .saturating_add(refill)
            .min(u64::from(self.burst) * 1_000);
        let needed = u64::from(count) * 1_000;
        if self.milli_tokens < needed {
            return false;
        }
        self.milli_tokens -= needed;
        true
    }

    /// Milliseconds until a token is available (0 if one is).
    pub fn wait_ms(&self) -> u64 {
        let missing = 1_000u64.saturating_sub(self.milli_tokens);
        missing.div_ceil(u64::from(self.per_second.max(1)))
    }
}

/// Client addresses whose budgets are tracked before the table starts over.
pub const CLIENTS_TRACKED_MAX: usize = 65_536;

/// A token bucket per client address.
pub struct ClientBudgets {
    buckets: std::sync::Mutex<std::collections::BTreeMap<std::net::IpAddr, TokenBucket>>,
    per_second: u32,
    burst: u32,
    started: std::time::Instant,
}

impl ClientBudgets {
    /// `per_second` tokens a second for each address, with `burst`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        ClientBudgets {
            buckets: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            per_second,
            burst,
            started: std::time::Instant::now(),
        }
    }

    /// Takes `count` tokens from `client`'s bucket if it holds that many.
    pub fn take(&self, client: std::net::IpAddr, count: u32) -> bool {
        let now_ms = self.started.elapsed().as_millis() as u64;
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() >= CLIENTS_TRACKED_MAX && !buckets.contains_key(&client) {
            buckets.clear();
        }
        buckets
            .entry(client)
            .or_insert_with(|| TokenBucket::new(self.per_second, self.burst, now_ms))
            .take_many(count, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut bucket = TokenBucket::new(10, 3, 0);
        assert!((0..3).all(|_| bucket.take(0)));
        assert!(!bucket.take(0));
        assert_eq!(bucket.wait_ms(), 100);
        assert!(!bucket.take(50));
        assert!(bucket.take(100));
        // A long pause refills up to the burst only.
        assert_eq!((0..10).filter(|_| bucket.take(60_000)).count(), 3);
        // A clock that steps back refills nothing.
        assert!(!bucket.take(1_000));
        // A costly request takes what it costs, or nothing.
        let mut bucket = TokenBucket::new(100, 100, 0);
        assert!(bucket.take_many(60, 0));
        assert!(!bucket.take_many(60, 0));
        assert!(bucket.take_many(40, 0));
    }
}
