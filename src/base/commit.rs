//! Whether a call's write has reached its commit. A call that runs out of
//! time before then is abandoned and its write never happens; one that has
//! reached it is waited for, since a commit under way may already have taken
//! effect. The write may run in another task than the call (a create written
//! with others by a batch writer), so the two decide it with one atomic step.

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};

const OPEN: u8 = 0;
const COMMITTING: u8 = 1;
const ABANDONED: u8 = 2;

/// Shared by a call's timeout and the code that commits its write.
#[derive(Debug, Default)]
pub struct CommitGate(AtomicU8);

impl CommitGate {
    /// The write is about to commit. False when the call was abandoned
    /// first: nothing may be written for it then.
    #[must_use]
    pub fn commit_begins(&self) -> bool {
        matches!(self.0.compare_exchange(OPEN, COMMITTING, SeqCst, SeqCst), Ok(_) | Err(COMMITTING))
    }

    /// The call's own task is about to commit. Its timeout abandons the call
    /// only between polls of that task, and drops it then, so here the gate
    /// always opens.
    pub fn own_commit_begins(&self) {
        let begun = self.commit_begins();
        debug_assert!(begun, "a call abandoned by its timeout went on to commit");
    }

    /// No commit has begun, nor was the call abandoned.
    pub fn is_open(&self) -> bool {
        self.0.load(SeqCst) == OPEN
    }

    /// The commit is over, written or not: running out of time abandons the
    /// call again.
    pub fn commit_ends(&self) {
        let _ = self.0.compare_exchange(COMMITTING, OPEN, SeqCst, SeqCst);
    }

    /// The call ran out of time. True when it is abandoned: no commit is
    /// under way and none will begin. False when one is under way, and its
    /// outcome is the answer.
    pub fn abandon(&self) -> bool {
        matches!(self.0.compare_exchange(OPEN, ABANDONED, SeqCst, SeqCst), Ok(_) | Err(ABANDONED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_abandoned_first_writes_nothing() {
        let gate = CommitGate::default();
        assert!(gate.abandon());
        assert!(!gate.commit_begins());
    }

    #[test]
    fn a_commit_under_way_is_waited_for_and_an_ended_one_is_not() {
        let gate = CommitGate::default();
        assert!(gate.commit_begins());
        assert!(gate.commit_begins(), "a second statement of the same commit");
        assert!(!gate.abandon());
        gate.commit_ends();
        assert!(gate.abandon());
    }
}
