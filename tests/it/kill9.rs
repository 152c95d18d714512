//! The kill -9 figure: `refresh --force` killed at random moments against a
//! portal whose refresh tokens rotate and die on first use, counting the
//! sessions lost. A measurement, not a pass/fail check of the figure: run by
//! `scripts/kill9.sh` (200 rounds). That every round leaves a profile that
//! loads is checked by the suite (refresh tests).

use crate::support::cli::Plugin;
use crate::support::minimax::MiniMax;
use crate::support::profile::seed_default;
use std::time::{Duration, Instant};

/// A small xorshift generator: the kill moments differ per run but need no crate.
struct Moments(u64);

impl Moments {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Rounds of kill -9; returns (rounds, kills that hit a live process, sessions lost).
fn kill9_rounds(rounds: u64) -> (u64, u64, u64) {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", -1000);

    // How long an uninterrupted refresh takes here: kills land anywhere in it.
    let mut spans = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(plugin.run(&["refresh", "--force"]).code, 0);
        spans.push(started.elapsed());
    }
    spans.sort();
    let span = spans[2].as_micros() as u64;

    let mut moments = Moments(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1,
    );
    let (mut hits, mut lost) = (0, 0);
    for _ in 0..rounds {
        let mut child = plugin.spawn(&["refresh", "--force"]);
        std::thread::sleep(Duration::from_micros(moments.next() % (span * 6 / 5 + 1)));
        if child.try_wait().unwrap().is_none() {
            hits += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // The session survived if the next run can still refresh it.
        let next = plugin.run(&["refresh", "--force"]);
        if next.code != 0 {
            assert_eq!(next.code, 3, "only a lost session may fail here: {next:?}");
            lost += 1;
            let fresh = format!("ref-revived-{lost}");
            mm.add_refresh_token(&fresh);
            seed_default(&plugin, &portal.url(), &fresh, -1000);
            let _ = std::fs::remove_dir_all(plugin.home().join("recovery"));
        }
    }
    (rounds, hits, lost)
}

#[test]
#[ignore = "a measurement: scripts/kill9.sh runs it"]
fn kill_9_figure() {
    let rounds = std::env::var("KILL9_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let (rounds, hits, lost) = kill9_rounds(rounds);
    println!("kill -9: {rounds} rounds, {hits} kills hit a running refresh, {lost} sessions lost");
    assert!(
        hits * 4 >= rounds,
        "too few kills hit a running process: {hits} of {rounds}"
    );
}
