//! The server's shared state: settings, the database, authentication, the
//! call registry and the counters, built once at start.

use std::{ops::Deref, sync::Arc};

use tokio::sync::Semaphore;

use crate::{
    auth::Authenticator,
    calls::Registry,
    metrics::Metrics,
    settings::Settings,
    store::{Db, code_batches::CodeBatches},
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub calls: Registry,
    /// Calls served at once; a call that finds none free is refused, not queued.
    pub in_flight: Arc<Semaphore>,
    /// Connections sending a request body at once, counted apart from calls.
    pub body_readers: Arc<Semaphore>,
    /// Streamed lists at once, each holding a database connection.
    pub streams: Arc<Semaphore>,
    pub metrics: Arc<Metrics>,
    /// The usual codes/create, written in batches (group commit).
    pub code_batches: Arc<CodeBatches>,
    /// This process among others on one database: the owner of its
    /// `Idempotency-Key` claims.
    pub instance: String,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, db: Db) -> Self {
        let auth = Arc::new(Authenticator::new(&settings.auth));
        let in_flight = Arc::new(Semaphore::new(settings.limits.max_in_flight));
        let body_readers = Arc::new(Semaphore::new(settings.limits.max_body_readers));
        let streams = Arc::new(Semaphore::new(settings.max_streams()));
        let metrics = Arc::new(Metrics::default());
        let instance = random_id();
        let code_batches = Arc::new(CodeBatches::new(db.clone(), metrics.clone(), settings.database.max_connections));
        Self(Arc::new(Inner {
            settings,
            db,
            auth,
            calls: Registry::new(),
            in_flight,
            body_readers,
            streams,
            metrics,
            code_batches,
            instance,
        }))
    }
}

/// 16 random hexadecimal digits.
pub fn random_id() -> String {
    use rand::Rng;
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}
