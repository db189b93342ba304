//! The database's announcements of changed logins (PostgreSQL `LISTEN`), made
//! by the triggers of migration 0012, and announcements of one's own.

use sqlx::{PgPool, postgres::PgListener};

use super::StoreError;

/// The channel every announcement of a changed login goes to.
pub const CHANNEL: &str = "switchyard_logins";

/// A connection listening on [`CHANNEL`].
pub struct LoginChanges(PgListener);

impl LoginChanges {
    /// A connection of its own (outside the pool), listening once this returns.
    pub async fn listen(pool: &PgPool) -> Result<Self, StoreError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Self(listener))
    }

    /// The next announcement's text; `None` once the connection is lost, after
    /// which announcements may have been missed and this listener is done.
    pub async fn next(&mut self) -> Option<String> {
        match self.0.try_recv().await {
            Ok(Some(notification)) => Some(notification.payload().to_string()),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(%err, "the connection listening for changed logins failed");
                None
            }
        }
    }
}

/// Announces `payload` on [`CHANNEL`] (delivered after every announcement
/// committed before it, to every listener).
pub async fn announce(pool: &PgPool, payload: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(pool).await?;
    Ok(())
}
