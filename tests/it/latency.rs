//! How long after the user approves does `login` say "Signed in"? A
//! measurement, not a pass/fail check: `scripts/approval-latency.sh` runs it.
//! The portal approves at moments that fall anywhere between two polls.

use crate::support::cli::Plugin;
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{DEVICE_CODE_PATH, MiniMax, TOKEN_PATH};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A portal that answers "pending" until `approve_after` past the code.
fn portal(interval_ms: u64, approve_after: Duration) -> (Portal, Arc<Mutex<Option<Instant>>>) {
    let mm = MiniMax::new().interval_ms(interval_ms).build();
    let issued = Arc::new(Mutex::new(None::<Instant>));
    let seen = Arc::clone(&issued);
    let portal = Portal::start(move |r| {
        if r.path == DEVICE_CODE_PATH {
            *crate::support::lock(&seen) = Some(Instant::now());
        } else if r.path == TOKEN_PATH {
            let approved =
                crate::support::lock(&seen).is_some_and(|at| at.elapsed() >= approve_after);
            if !approved {
                return Reply::json(200, json!({"status": "pending"}));
            }
        }
        mm.handle(r)
    });
    (portal, issued)
}

#[test]
#[ignore = "a measurement: scripts/approval-latency.sh runs it"]
fn approval_to_signed_in() {
    let rounds: u64 = std::env::var("LATENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    for interval_ms in [1000, 3000] {
        let mut waits = Vec::new();
        for round in 0..rounds {
            // Approvals spread over two poll periods.
            let approve_after =
                Duration::from_millis(3000 + round * 2 * interval_ms.max(2000) / rounds);
            let (portal, issued) = portal(interval_ms, approve_after);
            let plugin = Plugin::new(&portal.url());
            plugin.login(&[]).expect_code(0);
            let ended = Instant::now();
            let approved =
                crate::support::lock(&issued).expect("a code was asked for") + approve_after;
            waits.push(ended.saturating_duration_since(approved).as_millis());
        }
        waits.sort();
        let mean = waits.iter().sum::<u128>() / waits.len() as u128;
        println!(
            "approval to signed in, portal interval {interval_ms} ms: mean {mean} ms, \
             min {} ms, max {} ms ({} rounds)",
            waits[0],
            waits[waits.len() - 1],
            waits.len()
        );
        assert!(waits.iter().all(|w| *w < 10_000), "{waits:?}");
    }
}
