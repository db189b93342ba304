//! Monotonic time that tests can move forward, so that windows and expiries
//! are tested without sleeping. The server never advances it.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

#[derive(Debug)]
pub struct Clock {
    start: Instant,
    skipped_ms: AtomicU64,
}

impl Default for Clock {
    fn default() -> Self {
        Self { start: Instant::now(), skipped_ms: AtomicU64::new(0) }
    }
}

impl Clock {
    /// Time since the clock was made, plus any time skipped.
    pub fn now(&self) -> Duration {
        self.start.elapsed() + Duration::from_millis(self.skipped_ms.load(Ordering::Relaxed))
    }

    /// Wall-clock seconds since the epoch, plus any time skipped: for windows
    /// that several processes share through the database.
    pub fn wall_secs(&self) -> i64 {
        let epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (epoch + Duration::from_millis(self.skipped_ms.load(Ordering::Relaxed))).as_secs() as i64
    }

    /// Moves the clock forward (tests only).
    pub fn advance(&self, by: Duration) {
        self.skipped_ms.fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}
