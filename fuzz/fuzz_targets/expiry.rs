//! `expired_in` normalisation: never a panic; what is believed is never
//! more than 30 days ahead; an error never quotes the value (a hostile
//! portal may put a token there).
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth::testing::MAX_BELIEVED_LIFETIME_MS;
use minimax_portal_auth_fuzz::{MARKER, plant};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (now, rest) = data.split_at(8);
    let now = i64::from_le_bytes(now.try_into().unwrap_or_default());
    let planted = plant(rest);
    let value = serde_json::from_slice(&planted)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&planted).into()));
    match minimax_portal_auth::testing::expiry(&value, now) {
        Ok((ms, warning)) => {
            assert!(
                ms <= now.saturating_add(MAX_BELIEVED_LIFETIME_MS),
                "{ms} {now}"
            );
            assert!(!warning.unwrap_or_default().contains(MARKER));
        }
        Err(why) => assert!(!why.contains(MARKER), "{why}"),
    }
});
