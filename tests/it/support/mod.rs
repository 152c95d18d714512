//! Helpers shared by the integration tests.

pub mod cli;
pub mod http_server;
pub mod minimax;
pub mod openclaw;
pub mod profile;
pub mod screen;
pub mod tty;

use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Reads a `--json` output into its struct in `minimax_portal_auth::json`
/// (which refuses unknown keys) and writes it back: the two must be equal,
/// so the output has every key of the struct and no other.
pub fn fits<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<(), String> {
    let read: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&read).map_err(|e| e.to_string())?;
    if &back == value {
        Ok(())
    } else {
        Err(format!("it reads back as {back}"))
    }
}

/// Locks `m` even if a panicking holder poisoned it: a handler that panicked
/// must not take the whole test portal down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Now as Unix epoch milliseconds, the unit of every MiniMax timestamp.
pub fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("system clock before 1970");
    u64::try_from(since.as_millis()).expect("epoch milliseconds fit in u64")
}

/// The URL of a port on 127.0.0.1 where nothing listens: a portal that cannot
/// be reached. The port was free a moment ago and is released again, so a
/// connection to it is refused (unless another process grabs the port in the
/// meantime, which the ephemeral range makes unlikely).
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 to find a free port");
    let port = listener
        .local_addr()
        .expect("local address of the probe listener")
        .port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// True when a real Secret Service is there (scripts/with-keyring.sh sets
/// MINIMAX_PORTAL_TEST_KEYRING). Outside CI a missing one skips the test
/// with a note; in CI it fails it, so a keyring test can never pass unrun.
pub fn real_keyring() -> bool {
    if std::env::var_os("MINIMAX_PORTAL_TEST_KEYRING").is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the tests under scripts/with-keyring.sh (no MINIMAX_PORTAL_TEST_KEYRING)"
    );
    eprintln!("skipped: no MINIMAX_PORTAL_TEST_KEYRING (run under scripts/with-keyring.sh)");
    false
}
