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
        let elapsed_ms = now_ms.saturating_sub(self.updated_ms);
        self.updated_ms = self.updated_ms.max(now_ms);
        let refill = elapsed_ms.saturating_mul(u64::from(self.per_second));
        self.milli_tokens = self
            .milli_tokens
            .saturating_add(refill)
            .min(u64::from(self.burst) * 1_000);
        if self.milli_tokens < 1_000 {
            return false;
        }
        self.milli_tokens -= 1_000;
        true
    }

    /// Milliseconds until a token is available (0 if one is).
    pub fn wait_ms(&self) -> u64 {
        let missing = 1_000u64.saturating_sub(self.milli_tokens);
        missing.div_ceil(u64::from(self.per_second.max(1)))
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
    }
}
