//! How long Switchyard waited for a database connection, process-wide, for
//! `/metrics`. The pools do not report their waits, so each place Switchyard
//! takes a connection itself (every write transaction, the one-trip code
//! create, imports, lists and streams) goes through [`timed`]. Single-statement
//! reads that borrow a connection inside sqlx are not counted.

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// Upper bounds of the buckets, in seconds: a free connection is handed out in
/// microseconds; a saturated pool makes calls wait up to `acquire_timeout`.
pub const BOUNDS: [f64; 10] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

static BUCKETS: [AtomicU64; BOUNDS.len()] = [const { AtomicU64::new(0) }; BOUNDS.len()];
static COUNT: AtomicU64 = AtomicU64::new(0);
static SUM_NANOS: AtomicU64 = AtomicU64::new(0);

/// Awaits `acquire` (a pool's `acquire` or `begin`) and records how long it took,
/// whether or not it succeeded: a timed-out wait is the one most worth seeing.
pub async fn timed<T>(acquire: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let outcome = acquire.await;
    record(started.elapsed());
    outcome
}

fn record(waited: Duration) {
    let seconds = waited.as_secs_f64();
    if let Some(i) = BOUNDS.iter().position(|&bound| seconds <= bound) {
        BUCKETS[i].fetch_add(1, Ordering::Relaxed);
    }
    COUNT.fetch_add(1, Ordering::Relaxed);
    SUM_NANOS.fetch_add(u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// The waits so far: cumulative bucket counts (one per bound), the count and the sum in seconds.
pub struct Waits {
    pub cumulative: [u64; BOUNDS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

pub fn waits() -> Waits {
    let mut cumulative = [0; BOUNDS.len()];
    let mut running = 0;
    for (slot, bucket) in cumulative.iter_mut().zip(&BUCKETS) {
        running += bucket.load(Ordering::Relaxed);
        *slot = running;
    }
    Waits {
        cumulative,
        // A wait being recorded may be in its bucket and not yet in the
        // count: the `+Inf` bucket must never read below a finite one.
        count: COUNT.load(Ordering::Relaxed).max(running),
        sum_seconds: SUM_NANOS.load(Ordering::Relaxed) as f64 / 1e9,
    }
}
