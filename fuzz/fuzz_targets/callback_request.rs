//! A request head on the loopback callback: never a panic, and a code it
//! carries never in the page it gets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, marker_is_the_code, plant, start};

fuzz_target!(|data: &[u8]| {
    start();
    let planted = plant(data);
    let head = String::from_utf8_lossy(&planted);
    let page = minimax_portal_auth::testing::callback_request(&head, "state-0123456789");
    assert_no_secret(&page, marker_is_the_code(&head));
});
