//! The keyring index (names and times): never a panic; no held secret.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let text = minimax_portal_auth::testing::keyring_index(&plant(data));
    assert_no_secret(&text, false);
});
