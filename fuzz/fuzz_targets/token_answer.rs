//! The token endpoint's answer (login poll, code exchange, refresh): never
//! a panic, and no token of the body (nor the one the process holds) in
//! what a user is shown.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minimax_portal_auth_fuzz::{assert_no_secret, marker_is_a_token_value, plant, start};

const STATUSES: [u16; 12] = [200, 201, 400, 401, 403, 404, 408, 429, 500, 503, 302, 299];
const NOW: i64 = 1_800_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    start();
    let body = plant(body);
    let status = STATUSES[usize::from(pick) % STATUSES.len()];
    let text = minimax_portal_auth::testing::token_answer(status, &body, NOW);
    assert_no_secret(&text, marker_is_a_token_value(&body));
});
