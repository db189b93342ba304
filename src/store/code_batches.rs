//! Group commit for the usual `codes/create`: creates that arrive while
//! others are being written wait, and are then written together, in one trip
//! to the database and one commit. One create alone goes at once; under load
//! the batches grow by themselves, so the database does one commit's work
//! where it did dozens, and SQLite's single writer wakes once per batch
//! instead of once per call. On PostgreSQL, when a create has waited in line
//! for longer than a batch takes, another writer starts (up to four, each on
//! a connection of its own), so that a batch waiting for a customer another
//! transaction holds holds up only its own creates.
//!
//! Each create keeps its own outcome: an existing code, a plan that forbids
//! or a missing customer answers that create alone. A batch the database
//! refuses for what one create may have caused (a value or constraint it
//! refused, a deadlock) is tried again one create at a time, so that every
//! create gets the answer it would have had alone; a batch refused for what
//! every create would meet (a lost connection, a full disk) answers all with
//! that at once.

use std::{
    sync::{Arc, Mutex, PoisonError, atomic::Ordering},
    time::Duration,
};

use tokio::sync::oneshot;

use crate::metrics::Metrics;

use crate::base::CommitGate;

use super::{
    Db, StoreError,
    audit::NewAudit,
    codes::{self, CodeRecord, PlanInsert},
};

/// The most creates written together: enough for the concurrency a server
/// takes, few enough that SQLite's statement cache keeps one text per size.
const MOST_TOGETHER: usize = 16;

/// Batches written at once on PostgreSQL, each on a connection of its own,
/// so that one batch waiting for a customer another writer holds (a long
/// recursive delete, say) does not hold up every other customer's creates;
/// never more than half the pool, so that writers held up leave the other
/// calls connections. SQLite has one writer connection, so one batch at a time.
const MOST_WRITERS_PG: usize = 4;

/// How long a create waits in line before another writer starts. One writer
/// makes the largest batches (measured: four writers from the start took a
/// quarter off the rate at 32 clients, batches of 4 instead of 8.6); a batch
/// takes a few milliseconds, so only one that waits for a lock keeps a
/// create in line this long.
const HELD_UP: Duration = Duration::from_millis(50);

/// The creates waiting to be written, and the writers at work.
pub struct CodeBatches {
    db: Db,
    metrics: Arc<Metrics>,
    most_writers: usize,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    creates: Vec<Create>,
    /// Tasks writing batches; each takes what waits before it stops.
    writers: usize,
}

struct Create {
    record: CodeRecord,
    entry: NewAudit,
    /// The call's: a create whose call timed out before a writer took it is
    /// not written.
    gate: Arc<CommitGate>,
    answer: oneshot::Sender<Result<PlanInsert, StoreError>>,
}

impl CodeBatches {
    /// `pool_size`: the database pool's most connections.
    pub fn new(db: Db, metrics: Arc<Metrics>, pool_size: u32) -> Self {
        let most_writers = match db {
            Db::Postgres(_) => MOST_WRITERS_PG.min(pool_size as usize / 2).max(1),
            Db::Sqlite(_) => 1,
        };
        Self { db, metrics, most_writers, waiting: Mutex::default() }
    }

    /// Writes `record` and its audit row `entry` under `codes::insert_within_plan`'s
    /// rules, with whatever creates arrive meanwhile. The writing runs in a
    /// task of its own: a caller that goes away does not take the others'
    /// commit with it. The writer passes the call's `gate` as it takes the
    /// create into a batch.
    pub async fn insert(
        self: &Arc<Self>,
        record: CodeRecord,
        entry: NewAudit,
        gate: &Arc<CommitGate>,
    ) -> Result<PlanInsert, StoreError> {
        let (answer, mut outcome) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.creates.push(Create { record, entry, gate: Arc::clone(gate), answer });
            self.add_writer(&mut waiting, |waiting| waiting.writers == 0);
        }
        let answered = match tokio::time::timeout(HELD_UP, &mut outcome).await {
            Ok(answered) => answered,
            Err(_) => {
                {
                    let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                    // Still in line (not merely in a slow batch): the writers are held up.
                    self.add_writer(&mut waiting, |_| gate.is_open());
                }
                outcome.await
            }
        };
        answered.unwrap_or(Err(StoreError::Invariant("the code writer stopped before answering")))
    }

    /// Starts another writer when `needed` and there is room for one.
    fn add_writer(self: &Arc<Self>, waiting: &mut Waiting, needed: impl Fn(&Waiting) -> bool) {
        if needed(waiting) && waiting.writers < self.most_writers {
            waiting.writers += 1;
            tokio::spawn(Arc::clone(self).write_waiting());
        }
    }

    /// Writes batches until none waits.
    async fn write_waiting(self: Arc<Self>) {
        let _stopping = StopGuard(&self);
        loop {
            let taken: Vec<Create> = {
                let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                if waiting.creates.is_empty() {
                    waiting.writers -= 1;
                    return;
                }
                let take = waiting.creates.len().min(MOST_TOGETHER);
                waiting.creates.drain(..take).collect()
            };
            // A create whose call has timed out is withdrawn (its caller was
            // told so); the others' calls now wait for the batch's outcome.
            let batch: Vec<Create> = taken.into_iter().filter(|create| create.gate.commit_begins()).collect();
            if batch.is_empty() {
                continue;
            }
            self.metrics.code_batches.fetch_add(1, Ordering::Relaxed);
            let outcomes = write(&self.db, &batch).await;
            for (create, outcome) in batch.into_iter().zip(outcomes) {
                // A caller that went away no longer listens.
                let _ = create.answer.send(outcome);
            }
        }
    }
}

/// The creates of `batch` together; one by one when one of them may have
/// sunk the batch; otherwise all with the batch's answer.
async fn write(db: &Db, batch: &[Create]) -> Vec<Result<PlanInsert, StoreError>> {
    let creates: Vec<(&CodeRecord, &NewAudit)> = batch.iter().map(|c| (&c.record, &c.entry)).collect();
    match codes::insert_together(db, &creates).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(err) if batch.len() > 1 && one_create_may_cause(db, &err) => {
            tracing::debug!(%err, creates = batch.len(), "code creates written together failed; writing each alone");
            let mut outcomes = Vec::with_capacity(batch.len());
            for create in &creates {
                let alone = codes::insert_together(db, std::slice::from_ref(create)).await;
                outcomes.push(
                    alone.and_then(|mut one| one.pop().ok_or(StoreError::Invariant("a code create answered no row"))),
                );
            }
            outcomes
        }
        // No database to write to, no room, a lock held past the timeout, or
        // an answer that did not read after the commit: each create alone
        // would meet the same, one after another (or be written twice). All
        // get the batch's answer.
        Err(err) => {
            let mut outcomes: Vec<_> = (1..batch.len()).map(|_| Err(shared(&err))).collect();
            outcomes.insert(0, Err(err));
            outcomes
        }
    }
}

/// Whether `err` may come from one create of a batch rather than from the
/// database as a whole: a value, constraint or trigger the database refused
/// (PostgreSQL's classes 22, 23 and P0; SQLite's constraint, too-big,
/// mismatch and range errors), or a transaction PostgreSQL chose to end (deadlock,
/// serialization failure), which a create alone, holding one customer,
/// escapes. All of these end the statement before its commit.
fn one_create_may_cause(db: &Db, err: &StoreError) -> bool {
    let (StoreError::Other(sqlx::Error::Database(refused)) | StoreError::Unavailable(sqlx::Error::Database(refused))) =
        err
    else {
        return false;
    };
    let Some(code) = refused.code() else { return false };
    match db {
        Db::Postgres(_) => {
            ["22", "23", "P0"].iter().any(|class| code.starts_with(class)) || code == "40P01" || code == "40001"
        }
        // SQLite's extended codes carry the primary one in their low byte.
        Db::Sqlite(_) => code.parse::<u32>().is_ok_and(|extended| matches!(extended & 0xff, 18 | 19 | 20 | 25)),
    }
}

/// `err` once more, for another create of the batch it ended.
fn shared(err: &StoreError) -> StoreError {
    let message = || sqlx::Error::Protocol(err.to_string());
    match err {
        StoreError::Unavailable(_) => StoreError::Unavailable(message()),
        StoreError::Full(_) => StoreError::Full(message()),
        StoreError::Invariant(what) => StoreError::Invariant(what),
        StoreError::Superseded => StoreError::Superseded,
        StoreError::Other(_) | StoreError::Migrate(_) => StoreError::Other(message()),
    }
}

/// A writer that panicked would stay counted, and with no writer left every
/// later create would wait for it: on unwinding it is no longer counted, and
/// when it was the last, the waiting creates are answered (their senders
/// dropped).
struct StopGuard<'a>(&'a CodeBatches);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut waiting = self.0.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.writers -= 1;
            if waiting.writers == 0 {
                waiting.creates.clear();
            }
        }
    }
}
