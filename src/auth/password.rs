//! argon2id password hashing, off the async executor and bounded: each hash
//! holds 19 MiB, and `spawn_blocking` alone would run as many as arrive.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

/// OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. Blocking: call from a blocking thread.
pub fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid params")
        .to_string()
}

/// Checks a password against a PHC string. Blocking: call from a blocking thread.
fn verify_blocking(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the username is unknown, so that an unknown user
    /// costs the same as a wrong password. Made with the live parameters.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(max_concurrent: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_concurrent)), dummy_hash: hash_blocking("switchyard-dummy").into() }
    }

    pub async fn hash(&self, password: String) -> String {
        let _permit = self.permits.acquire().await.expect("semaphore never closed");
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await.expect("hashing does not panic")
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there
    /// is no user (the answer is then always false, at the same cost).
    pub async fn verify(&self, hash: Option<String>, password: String) -> bool {
        let _permit = self.permits.acquire().await.expect("semaphore never closed");
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&hash, &password))
            .await
            .expect("verifying does not panic");
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_with_owasp_parameters() {
        let hash = hash_blocking("correct horse");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_blocking(&hash, "correct horse"));
        assert!(!verify_blocking(&hash, "wrong horse"));
        assert!(!verify_blocking("not a hash", "x"));
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let passwords = Passwords::new(1);
        assert!(!passwords.verify(None, "switchyard-dummy".into()).await);
    }
}
