//! Who is calling: credentials in, an authenticated [`Caller`] out, or a 401.

pub mod password;
pub mod privilege;

use std::net::IpAddr;

use crate::{
    http::error::ApiError,
    store::{self, Db},
};
use password::Passwords;
use privilege::Privileges;

/// A username and password as sent, from parameters or HTTP Basic.
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // The password never reaches a log, even through a stray `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// The authenticated person making a call.
#[derive(Debug, Clone)]
pub struct Caller {
    pub person: i64,
    pub username: String,
    pub customer: i64,
    pub role: i64,
    pub privileges: Privileges,
}

#[derive(Clone)]
pub struct Authenticator {
    pub passwords: Passwords,
}

impl Authenticator {
    pub fn new(settings: &crate::settings::AuthSettings) -> Self {
        Self { passwords: Passwords::new(settings.max_concurrent_hashes) }
    }

    /// Checks credentials. Anything wrong or missing is the same 401.
    pub async fn authenticate(
        &self,
        db: &Db,
        credentials: Option<Credentials>,
        _client: IpAddr,
    ) -> Result<Caller, ApiError> {
        let Some(Credentials { username, password }) = credentials else {
            return Err(ApiError::unauthorized());
        };
        let login = store::auth::find_login(db, &username).await?;
        let hash = login.as_ref().map(|l| l.password_hash.clone());
        if !self.passwords.verify(hash, password).await {
            return Err(ApiError::unauthorized());
        }
        let login = login.expect("verify is false without a login");
        Ok(Caller {
            person: login.person,
            username,
            customer: login.customer,
            role: login.role,
            privileges: login.privileges,
        })
    }
}

/// A username: 1 to 64 of `A-Za-z0-9._@-`.
pub fn check_username(username: &str) -> Result<(), &'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
    if (1..=64).contains(&username.len()) && username.chars().all(allowed) {
        Ok(())
    } else {
        Err("must be 1 to 64 of the characters A-Z a-z 0-9 . _ @ -")
    }
}

/// A password: 8 to 128 characters.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if (8..=128).contains(&password.chars().count()) { Ok(()) } else { Err("must be 8 to 128 characters") }
}
