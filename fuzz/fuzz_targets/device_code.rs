//! The device-code answer: never a panic; the held secret never shown.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let body = plant(data);
    let text =
        minimax_portal_auth::testing::device_code(&body, "state-0123456789", 1_800_000_000_000);
    assert_no_secret(&text, false);
});
