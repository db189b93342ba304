//! Switchyard: a provisioning API server that speaks the Enswitch JSON API.
//!
//! The binary is a thin shell over this library so that tests can start the
//! whole server in-process on port 0: [`start`] opens and prepares the
//! database, [`app::serve`] serves an already-bound listener.

pub mod app;
pub mod auth;
pub mod base;
pub mod calls;
pub mod docs_page;
pub mod domain;
pub mod first_start;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod pipeline;
pub mod process_stats;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;

use first_start::{AdminSeed, FirstStartError};
use settings::Settings;
use state::AppState;
use store::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("first start: {0}")]
    FirstStart(#[from] FirstStartError),
}

/// Connects, runs pending migrations and the first-start set-up: everything
/// `switchyard serve` does before it opens its port.
pub async fn start(settings: Settings, admin: AdminSeed) -> Result<AppState, StartError> {
    let db = Db::connect(&settings).await?;
    db.migrate().await?;
    first_start::ensure(&db, admin, &settings.admin_password_file, settings.log.format).await?;
    Ok(AppState::new(settings, db))
}
