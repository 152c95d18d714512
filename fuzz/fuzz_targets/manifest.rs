//! plugin.toml: never a panic; no held secret in its problems.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let planted = plant(data);
    let text = String::from_utf8_lossy(&planted);
    let shown = minimax_portal_auth::testing::manifest(&text);
    assert_no_secret(&shown, false);
});
