//! First start on an empty database: the built-in roles, plan and customer, and
//! a system-owner person whose password is given or generated. A generated
//! password is shown once on a terminal and written to an owner-only file; only
//! that file's path is logged.

use std::{
    io::{IsTerminal, Write},
    path::Path,
};

use rand::{Rng, distributions::Alphanumeric};

use crate::{
    auth::password,
    settings::LogFormat,
    store::{self, Db, StoreError},
};

/// The first-start inputs, `SWITCHYARD_ADMIN_USERNAME` and `SWITCHYARD_ADMIN_PASSWORD`.
pub struct AdminSeed {
    pub username: String,
    pub password: Option<String>,
}

impl AdminSeed {
    pub fn from_env() -> Self {
        Self {
            username: std::env::var("SWITCHYARD_ADMIN_USERNAME").unwrap_or_else(|_| "admin".into()),
            password: std::env::var("SWITCHYARD_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FirstStartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("SWITCHYARD_ADMIN_USERNAME: {0}")]
    Username(&'static str),
    #[error("SWITCHYARD_ADMIN_PASSWORD: the password {0}")]
    Password(&'static str),
    #[error("cannot write the administrator password to {path}: {source}")]
    PasswordFile { path: String, source: std::io::Error },
}

/// Seeds an empty database; does nothing on a database that was seeded before.
pub async fn ensure(db: &Db, seed: AdminSeed, password_file: &Path, format: LogFormat) -> Result<(), FirstStartError> {
    if store::bootstrap::is_seeded(db).await? {
        return Ok(());
    }
    if let Err(why) = crate::auth::check_username(&seed.username) {
        return Err(FirstStartError::Username(why));
    }
    // The same rule as for every other person's password.
    if let Some(given) = &seed.password
        && let Err(why) = crate::auth::check_password(given)
    {
        return Err(FirstStartError::Password(why));
    }
    let generated = seed.password.is_none();
    let password = seed.password.unwrap_or_else(generate_password);
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || password::hash_blocking(&password)).await.expect("hashing does not panic")
    };
    if !store::bootstrap::seed(db, &seed.username, &hash).await? {
        return Ok(());
    }
    tracing::info!(username = %seed.username, "first start: created roles, plan 1, customer 1 and the system owner");
    if generated {
        write_owner_only(password_file, &password)
            .map_err(|source| FirstStartError::PasswordFile { path: password_file.display().to_string(), source })?;
        tracing::info!(file = %password_file.display(), "generated administrator password written (readable by its owner only)");
        if std::io::stderr().is_terminal() {
            let mut stderr = std::io::stderr().lock();
            let _ = match format {
                LogFormat::Pretty => writeln!(stderr, "\n  Administrator {}: password {password}\n", seed.username),
                LogFormat::Json => writeln!(
                    stderr,
                    "{}",
                    serde_json::json!({ "admin_username": seed.username, "admin_password": password })
                ),
            };
        }
    }
    Ok(())
}

fn generate_password() -> String {
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(24).map(char::from).collect()
}

fn write_owner_only(path: &Path, password: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // `mode` applies only to a new file; an old one keeps its permissions otherwise.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{password}")
}
