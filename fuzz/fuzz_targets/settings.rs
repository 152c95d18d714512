//! config.toml: never a panic; no held secret in what is shown.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let text = minimax_portal_auth::testing::settings(&plant(data));
    assert_no_secret(&text, false);
});
