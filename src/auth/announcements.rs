//! Keeps a process's credential cache in step with changes to logins made
//! anywhere (PostgreSQL): listens for the database's announcements and
//! forgets what they name, and lets a call that changed logins wait until
//! this process has heard its own change before it answers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rand::RngCore;
use sqlx::PgPool;
use tokio::sync::watch;

use super::{Authenticator, cache::Changed};
use crate::store::{self, Db, announcements::LoginChanges};

/// How long a call waits to hear its own announcement before it stops
/// trusting the cache rather than wait longer.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// How often a listening process announces a marker to itself. A marker not
/// heard within [`CATCH_UP_WAIT`] means the listening connection was cut
/// without either side seeing it (a firewall dropping an idle connection, a
/// backend that hangs): the cache stops being trusted and a new connection
/// listens, so a change is never missed for longer than this and the wait.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// What this process has announced and heard of its own.
pub struct Announcements {
    /// Tells this process's catch-up announcements from other processes'.
    process: String,
    sent: AtomicU64,
    heard: watch::Sender<u64>,
}

impl Default for Announcements {
    fn default() -> Self {
        let mut id = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut id);
        Self {
            process: id.iter().map(|b| format!("{b:02x}")).collect(),
            sent: AtomicU64::new(0),
            heard: watch::Sender::new(0),
        }
    }
}

/// What one announcement's text means.
#[derive(Debug, PartialEq, Eq)]
enum Heard<'a> {
    Changed(Changed),
    /// A catch-up announcement: (process, sequence number).
    CaughtUp(&'a str, u64),
    Unknown,
}

fn parse(payload: &str) -> Heard<'_> {
    let Some((kind, rest)) = payload.split_once(':') else { return Heard::Unknown };
    match (kind, rest.parse::<i64>()) {
        ("person", Ok(id)) => Heard::Changed(Changed::Person(id)),
        ("role", Ok(id)) => Heard::Changed(Changed::Role(id)),
        ("probe", _) => Heard::Changed(Changed::Prober(rest.to_string())),
        ("all", _) => Heard::Changed(Changed::Everyone),
        ("sync", _) => match rest.split_once(':').map(|(process, seq)| (process, seq.parse::<u64>())) {
            Some((process, Ok(seq))) => Heard::CaughtUp(process, seq),
            _ => Heard::Unknown,
        },
        _ => Heard::Unknown,
    }
}

impl Authenticator {
    /// Starts listening for announcements (the first connection is made
    /// before this returns, so that calls served from then on are cached as
    /// announced) and keeps listening until the task is aborted.
    pub async fn start_listening(self: Arc<Self>, pool: PgPool) -> tokio::task::JoinHandle<()> {
        let first = self.listen(&pool).await;
        tokio::spawn(self.keep_listening(pool, first))
    }

    /// A listening connection; from then on the cache is trusted as announced.
    async fn listen(&self, pool: &PgPool) -> Option<LoginChanges> {
        match LoginChanges::listen(pool).await {
            Ok(changes) => {
                self.cache.set_announced(true);
                Some(changes)
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for changed logins; every call reads its login");
                None
            }
        }
    }

    /// Each lost connection forgets the cache and reads every login until
    /// listening again.
    async fn keep_listening(self: Arc<Self>, pool: PgPool, mut listening: Option<LoginChanges>) {
        loop {
            if let Some(mut changes) = listening.take() {
                self.hear_until_lost(&pool, &mut changes).await;
                self.cache.set_announced(false);
                tracing::warn!("stopped hearing of changed logins; every call reads its login until listening again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            listening = self.listen(&pool).await;
        }
    }

    /// Hears announcements until the connection is lost or falls silent.
    async fn hear_until_lost(&self, pool: &PgPool, changes: &mut LoginChanges) {
        // Polled by reference, so that hearing an announcement never restarts
        // a heartbeat; the listener itself is dropped once this returns.
        let silent = self.heartbeat(pool);
        tokio::pin!(silent);
        loop {
            tokio::select! {
                payload = changes.next() => match payload {
                    Some(payload) => self.heard(&payload),
                    None => return,
                },
                () = &mut silent => {
                    tracing::warn!("the connection listening for changed logins fell silent; listening anew");
                    return;
                }
            }
        }
    }

    /// Returns once a marker of this process's own goes unheard.
    async fn heartbeat(&self, pool: &PgPool) {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            match self.own_marker_heard(pool).await {
                Ok(true) => {}
                Ok(false) => return,
                // The database cannot be reached: the listener's own loss shows that.
                Err(err) => tracing::warn!(%err, "could not announce a heartbeat marker"),
            }
        }
    }

    /// Announces a marker of this process's own and waits, at most
    /// [`CATCH_UP_WAIT`], until it is heard: then every announcement
    /// committed before it has been heard too (they arrive in commit order).
    async fn own_marker_heard(&self, pool: &PgPool) -> Result<bool, store::StoreError> {
        let seq = self.announcements.sent.fetch_add(1, Ordering::SeqCst) + 1;
        let mut heard = self.announcements.heard.subscribe();
        let marker = format!("sync:{}:{seq}", self.announcements.process);
        store::announcements::announce(pool, &marker).await?;
        Ok(tokio::time::timeout(CATCH_UP_WAIT, heard.wait_for(|heard| *heard >= seq)).await.is_ok())
    }

    fn heard(&self, payload: &str) {
        match parse(payload) {
            Heard::Changed(changed) => self.cache.forget(&changed),
            Heard::CaughtUp(process, seq) if process == self.announcements.process => {
                self.announcements.heard.send_if_modified(|heard| {
                    let newer = seq > *heard;
                    if newer {
                        *heard = seq;
                    }
                    newer
                });
            }
            Heard::CaughtUp(..) => {}
            Heard::Unknown => tracing::debug!(payload, "an announcement this version does not know"),
        }
    }

    /// After a call that changed logins has committed: waits until this
    /// process has heard every announcement made so far (they arrive in
    /// commit order), so that its next call cannot pass on a forgotten login.
    /// Never fails: a marker that cannot be sent, or is not heard in time,
    /// makes the process forget every cached login instead.
    pub async fn catch_up(&self, db: &Db) {
        let Db::Postgres(pool) = db else { return };
        if !self.cache.announced() {
            // Every call reads its login anyway.
            return;
        }
        let caught_up = self.own_marker_heard(pool).await.unwrap_or_else(|err| {
            tracing::warn!(%err, "could not announce a catch-up marker");
            false
        });
        if !caught_up {
            tracing::warn!("did not hear this process's own announcement; forgetting every cached login");
            self.cache.forget(&Changed::Everyone);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_read_strictly() {
        assert_eq!(parse("person:12"), Heard::Changed(Changed::Person(12)));
        assert_eq!(parse("role:3"), Heard::Changed(Changed::Role(3)));
        assert_eq!(parse("probe:a:b"), Heard::Changed(Changed::Prober("a:b".into())));
        assert_eq!(parse("sync:ab12:7"), Heard::CaughtUp("ab12", 7));
        assert_eq!(parse("all:truncate"), Heard::Changed(Changed::Everyone));
        for unknown in ["", "person", "person:x", "role:", "sync:ab", "sync:ab:x", "other:1"] {
            assert_eq!(parse(unknown), Heard::Unknown, "{unknown}");
        }
    }
}
