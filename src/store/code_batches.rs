//! Group commit for the usual `codes/create`: creates that arrive while
//! others are being written wait, and are then written together, in one trip
//! to the database and one commit. One create alone goes at once; under load
//! the batches grow by themselves, so the database does one commit's work
//! where it did dozens, and SQLite's single writer wakes once per batch
//! instead of once per call.
//!
//! Each create keeps its own outcome: an existing code, a plan that forbids
//! or a missing customer answers that create alone. A batch the database
//! refuses as a whole (a lost connection, a full disk) is tried again one
//! create at a time, so that every create gets the answer it would have had
//! alone.

use std::sync::{Arc, Mutex, PoisonError, atomic::Ordering};

use tokio::sync::oneshot;

use crate::metrics::Metrics;

use super::{
    Db, StoreError,
    audit::NewAudit,
    codes::{self, CodeRecord, PlanInsert},
};

/// The most creates written together: enough for the concurrency a server
/// takes, few enough that SQLite's statement cache keeps one text per size.
const MOST_TOGETHER: usize = 16;

/// The creates waiting to be written, and whether a writer is at work.
pub struct CodeBatches {
    db: Db,
    metrics: Arc<Metrics>,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    creates: Vec<Create>,
    /// A task is writing batches; it takes what waits before it stops.
    writing: bool,
}

struct Create {
    record: CodeRecord,
    entry: NewAudit,
    answer: oneshot::Sender<Result<PlanInsert, StoreError>>,
}

impl CodeBatches {
    pub fn new(db: Db, metrics: Arc<Metrics>) -> Self {
        Self { db, metrics, waiting: Mutex::default() }
    }

    /// Writes `record` and its audit row `entry` under `codes::insert_within_plan`'s
    /// rules, with whatever creates arrive meanwhile. The writing runs in a
    /// task of its own: a caller that goes away does not take the others'
    /// commit with it.
    pub async fn insert(self: &Arc<Self>, record: CodeRecord, entry: NewAudit) -> Result<PlanInsert, StoreError> {
        let (answer, outcome) = oneshot::channel();
        let start_writer = {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.creates.push(Create { record, entry, answer });
            !std::mem::replace(&mut waiting.writing, true)
        };
        if start_writer {
            tokio::spawn(Arc::clone(self).write_waiting());
        }
        outcome.await.unwrap_or(Err(StoreError::Invariant("the code writer stopped before answering")))
    }

    /// Writes batches until none waits.
    async fn write_waiting(self: Arc<Self>) {
        let _stopping = StopGuard(&self);
        loop {
            let batch: Vec<Create> = {
                let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                if waiting.creates.is_empty() {
                    waiting.writing = false;
                    return;
                }
                let take = waiting.creates.len().min(MOST_TOGETHER);
                waiting.creates.drain(..take).collect()
            };
            self.metrics.code_batches.fetch_add(1, Ordering::Relaxed);
            let outcomes = write(&self.db, &batch).await;
            for (create, outcome) in batch.into_iter().zip(outcomes) {
                // A caller that went away no longer listens.
                let _ = create.answer.send(outcome);
            }
        }
    }
}

/// The creates of `batch` together, or one by one when the batch as a whole failed.
async fn write(db: &Db, batch: &[Create]) -> Vec<Result<PlanInsert, StoreError>> {
    let creates: Vec<(&CodeRecord, &NewAudit)> = batch.iter().map(|c| (&c.record, &c.entry)).collect();
    match codes::insert_together(db, &creates).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(err) if batch.len() == 1 => vec![Err(err)],
        // No database to write to, or no room: each create alone would wait
        // for the same, one after another. All get the batch's answer.
        Err(err @ (StoreError::Unavailable(_) | StoreError::Full(_))) => {
            let again = |err: &StoreError| {
                let message = sqlx::Error::Protocol(err.to_string());
                if matches!(err, StoreError::Full(_)) {
                    StoreError::Full(message)
                } else {
                    StoreError::Unavailable(message)
                }
            };
            let mut outcomes: Vec<_> = (1..batch.len()).map(|_| Err(again(&err))).collect();
            outcomes.insert(0, Err(err));
            outcomes
        }
        Err(err) => {
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
    }
}

/// A writer that panicked would leave `writing` set and every later create
/// waiting for it: on unwinding, the waiting creates are answered (their
/// senders dropped) and the flag is cleared.
struct StopGuard<'a>(&'a CodeBatches);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut waiting = self.0.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.creates.clear();
            waiting.writing = false;
        }
    }
}
