//! `refresh --watch`: the watcher refreshes before expiry, tells the host
//! through `--then`, rides out a failing portal, stops on SIGTERM with
//! exit 0, and ends with exit 3 when a new login is needed.

use crate::support::cli::{Plugin, finish};
use crate::support::fits;
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{MiniMax, MiniMaxState, TOKEN_PATH, token_url};
use crate::support::profile::{seed, seed_default, stored};
use minimax_portal_auth::json::WatchLine;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// The watcher's JSON lines, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits for a line containing `text`; every line must fit
/// `minimax_portal_auth::json::WatchLine`.
fn wait_line(rx: &mpsc::Receiver<String>, text: &str, within: Duration) -> String {
    let started = Instant::now();
    loop {
        let line = rx.recv_timeout(Duration::from_millis(200));
        if let Ok(line) = &line {
            let value = serde_json::from_str(line).expect("a JSON line");
            if let Err(why) = fits::<WatchLine>(&value) {
                panic!("{line} does not fit WatchLine: {why}");
            }
        }
        match line {
            Ok(line) if line.contains(text) => return line,
            _ => assert!(
                started.elapsed() < within,
                "no line with {text:?} within {within:?}"
            ),
        }
    }
}

fn sigterm(child: &Child) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

#[test]
fn the_watcher_refreshes_before_expiry_runs_then_and_stops_cleanly() {
    // Tokens that live 4 s: each falls due 2 s after it was issued.
    let (portal, mm) = MiniMax::new().token_expired_in(4).start();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let marks = tempfile::tempdir().expect("temp dir");
    let file = marks.path().join("reloads");
    let then = format!("echo reload >> '{}'", file.display());
    let mut child = plugin.spawn(&["refresh", "--watch", "--json", "--then", "sh", "-c", &then]);
    let rx = lines_of(&mut child);
    wait_line(&rx, "\"started\"", Duration::from_secs(10));
    let first = wait_line(&rx, "\"refreshed\"", Duration::from_secs(15));
    assert!(first.contains("\"then_ok\":true"), "{first}");
    // Tokens this short do not drive a refresh every few seconds: the
    // next one waits for the floor between refreshes (30 s).
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(mm.refresh_count(), 1, "refreshed again within seconds");
    wait_line(&rx, "\"refreshed\"", Duration::from_secs(45));
    sigterm(&child);
    wait_line(&rx, "\"stopped\"", Duration::from_secs(10));
    let status = child.wait().expect("the watcher ends");
    assert_eq!(status.code(), Some(0));
    let reloads = std::fs::read_to_string(&file).expect("--then ran");
    assert!(reloads.lines().count() >= 2, "{reloads}");
    assert!(mm.refresh_count() >= 2);
    // What the last refresh gave is what is stored: nothing half-written.
    let access = stored(&plugin, "default")["access"].clone();
    assert_eq!(plugin.run(&["token"]).expect_code(0).stdout.trim(), access);
}

#[test]
fn the_watcher_rides_out_a_failing_portal() {
    let mm = MiniMax::new().refresh_token("ref-seed").build();
    let state = Arc::clone(&mm);
    let failures = Arc::new(AtomicUsize::new(0));
    let failed = Arc::clone(&failures);
    // The first refresh gets a 503, the next ones the real thing.
    let portal = Portal::start(move |r| {
        if r.path == TOKEN_PATH && failed.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::text(503, "text/html", "<html>busy</html>");
        }
        state.handle(r)
    });
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 60_000);
    let mut child = plugin.spawn(&["refresh", "--watch", "--json"]);
    let rx = lines_of(&mut child);
    let trouble = wait_line(&rx, "\"transient\"", Duration::from_secs(15));
    assert!(trouble.contains("\"retry_in\":5"), "{trouble}");
    wait_line(&rx, "\"refreshed\"", Duration::from_secs(20));
    sigterm(&child);
    assert_eq!(child.wait().expect("ends").code(), Some(0));
    assert_eq!(mm.refresh_count(), 1);
}

#[test]
fn the_watcher_ends_with_3_when_a_new_login_is_needed() {
    let (portal, _mm) = MiniMax::new().start(); // "ref-dead" was never issued
    let plugin = Plugin::new(&portal.url());
    seed(
        &plugin,
        "default",
        &token_url(&portal),
        "ref-dead",
        60_000,
        "cn",
    );
    let run = finish(plugin.spawn(&["refresh", "--watch"]));
    run.expect_code(3)
        .stderr_has("fix: minimax-portal-auth login --region cn");
}

/// The watcher's exit status, or None (and the watcher killed) when it
/// has not ended within `within`.
fn ended_within(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn alive(pid: &str) -> bool {
    std::process::Command::new("kill")
        .args(["-0", pid])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn one_dead_profile_does_not_stop_the_others() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-live").start();
    let plugin = Plugin::new(&portal.url());
    let endpoint = token_url(&portal);
    seed(&plugin, "default", &endpoint, "ref-live", 60_000, "global");
    // Never issued: the portal rejects it.
    seed(&plugin, "old", &endpoint, "ref-dead", 60_000, "global");
    // A profile file that is not a profile.
    crate::support::profile::write_profile(&plugin, "broken", b"{\"schema\":");
    let mut child = plugin.spawn(&["refresh", "--watch", "--all", "--json"]);
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let line = wait_line(&rx, "\"profile_id\":\"", Duration::from_secs(20));
        seen.push(line);
    }
    let about = |id: &str| {
        seen.iter()
            .find(|l| l.contains(&format!("\"minimax-portal:{id}\"")))
            .unwrap_or_else(|| panic!("no line about {id}: {seen:?}"))
            .clone()
    };
    assert!(about("default").contains("\"refreshed\""), "{seen:?}");
    assert!(about("old").contains("\"needs_login\""), "{seen:?}");
    assert!(about("broken").contains("\"needs_login\""), "{seen:?}");
    // Still watching the live one.
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().expect("wait").is_none(), "the watch ended");
    sigterm(&child);
    let status = ended_within(&mut child, Duration::from_secs(20)).expect("stops");
    assert_eq!(status.code(), Some(0));
    assert_eq!(mm.refresh_count(), 2, "one for default, one rejected");
}

/// Profiles `a` and `b`, both live, whose access tokens expire in the
/// given times.
fn profiles_a_and_b(a_ms: i64, b_ms: i64) -> (Portal, Arc<MiniMaxState>, Plugin) {
    let (portal, mm) = MiniMax::new().refresh_token("ref-a").start();
    mm.add_refresh_token("ref-b");
    let plugin = Plugin::new(&portal.url());
    let endpoint = token_url(&portal);
    seed(&plugin, "a", &endpoint, "ref-a", a_ms, "global");
    seed(&plugin, "b", &endpoint, "ref-b", b_ms, "global");
    (portal, mm, plugin)
}

#[test]
fn sigterm_stops_a_running_then_with_its_children_and_no_refresh_follows() {
    let (_portal, mm, plugin) = profiles_a_and_b(60_000, 60_000);
    let marks = tempfile::tempdir().expect("temp dir");
    let pid_file = marks.path().join("pid");
    // A reload that starts a grandchild and hangs.
    let then = format!("sleep 300 & echo $! > '{}'; wait", pid_file.display());
    let mut child = plugin.spawn(&["refresh", "--watch", "--all", "--then", "sh", "-c", &then]);
    let started = Instant::now();
    while !pid_file.exists()
        || std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim()
            .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "--then never ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let grandchild = std::fs::read_to_string(&pid_file).expect("pid");
    let grandchild = grandchild.trim();
    assert!(alive(grandchild));
    let asked = Instant::now();
    sigterm(&child);
    // Well before --then's own 120 s limit.
    let status = ended_within(&mut child, Duration::from_secs(30))
        .expect("SIGTERM ends the watch while --then runs");
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());
    assert_eq!(status.code(), Some(0));
    let started = Instant::now();
    while alive(grandchild) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(grandchild), "--then's child outlived the watch");
    assert_eq!(mm.refresh_count(), 1, "a refresh after SIGTERM");
}

#[test]
fn a_failing_then_is_tried_again_later_each_time() {
    let (portal, _mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 60_000);
    let mut child = plugin.spawn(&["refresh", "--watch", "--json", "--then", "false"]);
    let rx = lines_of(&mut child);
    let first = wait_line(&rx, "\"then_ok\":false", Duration::from_secs(15));
    let second = wait_line(&rx, "\"then_ok\":false", Duration::from_secs(15));
    sigterm(&child);
    assert_eq!(
        ended_within(&mut child, Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(first.contains("\"then_retry_in\":5"), "{first}");
    assert!(second.contains("\"then_retry_in\":10"), "{second}");
}

#[test]
fn a_profile_logged_out_meanwhile_is_dropped_and_the_others_watched() {
    // With a 60 s margin, `a` falls due in 5 s; `b` in an hour.
    let (_portal, mm, plugin) = profiles_a_and_b(65_000, 3_660_000);
    let mut child = plugin.spawn(&["refresh", "--watch", "--all", "--json", "--margin", "60"]);
    let rx = lines_of(&mut child);
    wait_line(&rx, "\"started\"", Duration::from_secs(10));
    plugin.run(&["logout", "-p", "a"]).expect_code(0);
    let dropped = wait_line(&rx, "\"needs_login\"", Duration::from_secs(30));
    assert!(dropped.contains("minimax-portal:a"), "{dropped}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().expect("wait").is_none(), "the watch ended");
    sigterm(&child);
    let status = ended_within(&mut child, Duration::from_secs(20)).expect("stops");
    assert_eq!(status.code(), Some(0));
    assert_eq!(mm.refresh_count(), 0);
}
