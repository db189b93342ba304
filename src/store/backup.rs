//! `switchyard backup PATH`: a consistent copy of a SQLite database, taken
//! while servers keep reading and writing it. PostgreSQL has its own tools
//! (`pg_dump`, base backups), which know far more than this could.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use sqlx::{ConnectOptions, Connection, sqlite::SqliteConnectOptions};

use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup copies SQLite databases only; for PostgreSQL use pg_dump (pg_dump -Fc DBNAME > switchyard.dump)")]
    Postgres,
    #[error("{0} already exists; the backup does not overwrite a file")]
    Exists(PathBuf),
    #[error("no SQLite database at {0}")]
    NoDatabase(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Sqlite(#[from] sqlx::Error),
}

/// Copies the SQLite database of `settings` to `to`, a path that must not exist.
///
/// `VACUUM INTO` reads one snapshot of the database (under WAL, writers go on
/// meanwhile) and writes it as a compact, self-contained file: committed rows
/// up to the moment it started, including those still in the `-wal` file.
pub async fn sqlite(settings: &Settings, to: &Path) -> Result<(), BackupError> {
    let url = settings.database_url.as_str();
    if !url.starts_with("sqlite:") {
        return Err(BackupError::Postgres);
    }
    // Never create the database being backed up: a wrong path is an error, not an empty copy.
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(settings.limits.call_timeout_secs));
    let source = options.get_filename().to_path_buf();
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    let Some(target) = to.to_str() else {
        return Err(BackupError::Write { path: to.to_path_buf(), source: std::io::ErrorKind::InvalidInput.into() });
    };
    let mut conn = options.connect().await?;
    // The copy holds password hashes: owner-only from the start. SQLite
    // writes into an empty file, so the file made here is the one it fills;
    // `create_new` is what refuses to overwrite (and loses no race).
    let write_err = |source| BackupError::Write { path: to.to_path_buf(), source };
    create_owner_only(to).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists { BackupError::Exists(to.to_path_buf()) } else { write_err(e) }
    })?;
    let copied = async {
        sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await?;
        // SQLite does not sync what VACUUM INTO wrote; a backup should survive a power cut.
        // The directory too, or after a power cut the copy's name may be gone.
        let directory = match to.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => std::path::Path::new("."),
        };
        std::fs::File::open(to)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::File::open(directory)?.sync_all())
            .map_err(write_err)
    }
    .await;
    let _ = conn.close().await;
    if copied.is_err() {
        // Half a copy would pass for a backup.
        let _ = std::fs::remove_file(to);
    }
    copied
}

fn create_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map(drop)
}
