//! The activation role's temporary credentials: when to refresh them, and the
//! shared-credentials file that hands them to tools on the machine.
//!
//! Guarantees: the file (`STATE_DIR/credentials`) is the AWS shared-credentials format with
//! one `[default]` profile (so `AWS_SHARED_CREDENTIALS_FILE=STATE_DIR/credentials aws ...`
//! acts as the instance), mode 0600, replaced atomically; credentials are refreshed at half
//! their remaining life; a failed refresh is retried after [`crate::backoff::Backoff`]'s
//! delays, for as long as it takes. Neither `Debug` nor the log ever shows the secret access
//! key or the session token.

use std::fmt;
use std::time::Duration;

use aws_protocol::sigv4::format_iso8601;

use crate::state::{StateDir, StateError, write_private};

/// Credentials of `arn:aws:sts::ACCOUNT:assumed-role/ROLE/mi-...`.
#[derive(Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl RoleCredentials {
    /// The shared-credentials file's text.
    pub fn shared_credentials_text(&self) -> String {
        format!(
            "# Written by homeport agent: the activation role's credentials for this instance.\n\
             # They expire at {}; the agent replaces them before then.\n\
             [default]\n\
             aws_access_key_id = {}\n\
             aws_secret_access_key = {}\n\
             aws_session_token = {}\n",
            format_iso8601(self.expires_at),
            self.access_key_id,
            self.secret_access_key,
            self.session_token
        )
    }

    /// Writes `STATE_DIR/credentials` (0600, atomically).
    pub fn write_file(&self, state: &StateDir) -> Result<(), StateError> {
        write_private(&state.credentials_path(), self.shared_credentials_text().as_bytes())
    }

    /// True once `now` is past the expiry (with a little slack for clock drift).
    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires_at - 30
    }
}

/// How long to wait before refreshing credentials obtained at `now` that expire at
/// `expires_at`: half their remaining life, at least 5 seconds.
pub fn refresh_delay(now: i64, expires_at: i64) -> Duration {
    let half = (expires_at - now).max(0) / 2;
    Duration::from_secs(u64::try_from(half).unwrap_or(0).max(5))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn credentials() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE01".into(),
            secret_access_key: "secret/key+1".into(),
            session_token: "session-token".into(),
            expires_at: 1_795_003_600,
        }
    }

    #[test]
    fn the_file_is_the_shared_credentials_format() {
        assert_eq!(
            credentials().shared_credentials_text(),
            "# Written by homeport agent: the activation role's credentials for this instance.\n\
             # They expire at 2026-11-18T12:06:40Z; the agent replaces them before then.\n\
             [default]\n\
             aws_access_key_id = ASIAEXAMPLEEXAMPLE01\n\
             aws_secret_access_key = secret/key+1\n\
             aws_session_token = session-token\n"
        );
    }

    #[test]
    fn the_file_is_0600_and_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("homeport-agent-credentials-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = StateDir::create(&dir).unwrap();
        credentials().write_file(&state).unwrap();
        let newer = RoleCredentials { access_key_id: "ASIANEWER".into(), ..credentials() };
        newer.write_file(&state).unwrap();
        let path = state.credentials_path();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), newer.shared_credentials_text());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_hides_the_secrets() {
        let shown = format!("{:?}", credentials());
        assert!(shown.contains("ASIAEXAMPLEEXAMPLE01"));
        assert!(!shown.contains("secret/key") && !shown.contains("session-token"), "{shown}");
    }

    #[test]
    fn refresh_at_half_life() {
        assert_eq!(refresh_delay(1000, 1000 + 3600), Duration::from_secs(1800));
        assert_eq!(refresh_delay(1000, 1000 + 601), Duration::from_secs(300));
        assert_eq!(refresh_delay(1000, 1004), Duration::from_secs(5), "never a busy loop");
        assert_eq!(refresh_delay(1000, 900), Duration::from_secs(5));
        assert!(credentials().expired(1_795_003_600 - 10));
        assert!(!credentials().expired(1_795_000_000));
    }
}
