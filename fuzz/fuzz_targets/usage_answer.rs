//! The usage answer: never a panic; the access token the request carried
//! (the held secret) never shown, wherever the portal echoes it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let body = plant(data);
    let text = minimax_portal_auth::testing::usage_answer(&body, 1_800_000_000_000);
    assert_no_secret(&text, false);
});
