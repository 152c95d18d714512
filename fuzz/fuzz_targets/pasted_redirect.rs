//! An address pasted from the browser: never a panic, and a code it
//! carries never in the message about it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, marker_is_the_code, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let planted = plant(data);
    let text = String::from_utf8_lossy(&planted);
    let said = minimax_portal_auth::testing::pasted_redirect(
        &text,
        "http://127.0.0.1:1455/callback",
        "state-0123456789",
    );
    assert_no_secret(&said, marker_is_the_code(&text));
});
