//! Refresh that never loses a session: the real binary against a local
//! portal whose refresh tokens rotate and die on first use.

use crate::support::cli::{Plugin, finish};
use crate::support::http_server::Reply;
use crate::support::minimax::{MiniMax, TOKEN_PATH, token_url};
use crate::support::profile::{seed, seed_default, stored, stored_bytes};
use crate::support::{dead_url, now_ms};
use serde_json::json;
use std::time::Duration;

#[test]
fn twenty_processes_refresh_once_and_agree_on_the_token() {
    let (portal, mm) = MiniMax::new()
        .refresh_token("ref-seed")
        .refresh_delay(Duration::from_millis(300))
        .start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 60_000);

    let children: Vec<_> = (0..20).map(|_| plugin.spawn(&["token"])).collect();
    let runs: Vec<_> = children.into_iter().map(finish).collect();
    for run in &runs {
        run.expect_code(0);
    }
    assert_eq!(
        mm.refresh_count(),
        1,
        "exactly one refresh may reach the portal"
    );
    let tokens: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.stdout.trim()).collect();
    assert_eq!(tokens.len(), 1, "all print the same token: {tokens:?}");
    let token = *tokens.iter().next().unwrap();
    assert_ne!(token, "acc-old");
    let profile = stored(&plugin, "default");
    assert_eq!(profile["access"], token);
    assert!(
        mm.is_live(profile["refresh"].as_str().unwrap()),
        "the stored refresh token is the live one"
    );
    mm.assert_no_problems();
}

#[test]
fn rotation_replaces_the_refresh_token() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 0);
    let run = plugin.run(&["refresh", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json_field("/profiles/0/outcome"), "refreshed");
    let profile = stored(&plugin, "default");
    assert_ne!(profile["refresh"], "ref-seed");
    assert!(!mm.is_live("ref-seed"));
    assert!(profile["expires"].as_i64().unwrap() > now_ms() as i64 + 3_000_000);
    // And again with the rotated one: the session lives on.
    let run = plugin.run(&["refresh", "--force"]);
    run.expect_code(0);
    assert_eq!(mm.refresh_count(), 2);
}

#[test]
fn without_rotation_the_old_refresh_token_is_kept() {
    let (portal, mm) = MiniMax::new()
        .refresh_token("ref-seed")
        .no_rotation()
        .start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 0);
    let run = plugin.run(&["token"]);
    run.expect_code(0);
    assert_eq!(stored(&plugin, "default")["refresh"], "ref-seed");
    assert_eq!(stored(&plugin, "default")["access"], run.stdout.trim());
    assert!(mm.is_live("ref-seed"));
}

#[test]
fn a_rejected_refresh_token_needs_a_new_login_and_says_how() {
    let (portal, _mm) = MiniMax::new().start(); // "ref-dead" was never issued
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, "work", &token_url(&portal), "ref-dead", 0, "cn");
    let run = plugin.run(&["token", "--profile", "work"]);
    run.expect_code(3);
    run.stderr_has("minimax-portal-auth login --region cn --profile work");
    // Hosts onboard the default profile only: no host line for "work".
    run.stderr_lacks("onboard");
    assert!(
        !run.stderr.contains("ref-dead"),
        "the refresh token leaked: {}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    let status = plugin.run(&["status", "--json"]);
    status.expect_code(1);
    let row = &status.json()["profiles"][0];
    assert_eq!(row["state"], "needs_login");
    assert_eq!(
        row["fix"],
        "minimax-portal-auth login --region cn --profile work"
    );

    // Later calls do not hammer the portal with a dead token.
    let before = portal.count(TOKEN_PATH);
    plugin.run(&["token", "--profile", "work"]).expect_code(3);
    assert_eq!(portal.count(TOKEN_PATH), before);
}

#[test]
fn a_5xx_is_transient_and_leaves_the_profile_byte_for_byte() {
    let (portal, _mm) = MiniMax::new()
        .refresh_replies(vec![Reply::text(503, "text/html", "<html>busy</html>")])
        .start();
    let plugin = Plugin::new(&portal.url());
    let before = seed_default(&plugin, &portal.url(), "ref-seed", 0);
    let run = plugin.run(&["refresh", "--json"]);
    run.expect_code(4);
    assert_eq!(run.json_field("/profiles/0/outcome"), "transient");
    assert_eq!(stored_bytes(&plugin, "default"), before);
}

#[test]
fn a_429_is_transient_too() {
    let (portal, _mm) = MiniMax::new()
        .refresh_replies(vec![Reply::json(429, json!({}))])
        .start();
    let plugin = Plugin::new(&portal.url());
    let before = seed_default(&plugin, &portal.url(), "ref-seed", 0);
    plugin.run(&["token"]).expect_code(4);
    assert_eq!(stored_bytes(&plugin, "default"), before);
}

#[test]
fn a_portal_that_is_down_is_transient_and_retried_a_bounded_number_of_times() {
    let down = dead_url();
    let plugin = Plugin::new(&down);
    let before = seed_default(&plugin, &down, "ref-seed", 0);
    let run = plugin.run(&["token"]);
    run.expect_code(4);
    run.stderr_has("unchanged");
    assert_eq!(stored_bytes(&plugin, "default"), before);
}

#[test]
fn refresh_goes_to_the_region_that_issued_the_token() {
    let (issuer, issuer_mm) = MiniMax::new().refresh_token("ref-seed").start();
    let (other, other_mm) = MiniMax::new().refresh_token("ref-seed").start();
    // The environment now names another portal; the profile names its issuer.
    let plugin = Plugin::new(&other.url());
    seed(&plugin, "default", &token_url(&issuer), "ref-seed", 0, "cn");
    plugin.run(&["token"]).expect_code(0);
    assert_eq!(issuer_mm.refresh_count(), 1);
    assert_eq!(other_mm.refresh_count(), 0);
}

#[test]
fn nothing_due_touches_no_network() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 3_600_000);
    seed(
        &plugin,
        "work",
        &token_url(&portal),
        "ref-seed2",
        3_600_000,
        "cn",
    );
    let run = plugin.run(&["refresh", "--all", "--json"]);
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["profiles"].as_array().unwrap().len(), 2);
    assert!(
        out["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["outcome"] == "valid")
    );
    let token = plugin.run(&["token"]);
    assert_eq!(token.stdout, "acc-old\n");
    assert_eq!(portal.requests().len(), 0);
}

#[test]
fn the_margin_is_settable() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 20 * 60_000);
    assert_eq!(plugin.run(&["token"]).stdout, "acc-old\n");
    assert_eq!(mm.refresh_count(), 0);
    let run = plugin.run(&["token", "--margin", "1800"]);
    run.expect_code(0);
    assert_ne!(run.stdout, "acc-old\n");
    assert_eq!(mm.refresh_count(), 1);
}

#[test]
fn the_worst_outcome_decides_the_exit_code() {
    let (portal, _mm) = MiniMax::new().refresh_token("ref-ok").start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, "good", &token_url(&portal), "ref-ok", 0, "global");
    seed(&plugin, "bad", &token_url(&portal), "ref-dead", 0, "global");
    let run = plugin.run(&["refresh", "--all", "--json"]);
    run.expect_code(3);
    let outcomes: Vec<(String, String)> = run.json()["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["profile_id"].as_str().unwrap().to_string(),
                p["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        outcomes.contains(&("minimax-portal:good".into(), "refreshed".into())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("minimax-portal:bad".into(), "needs_login".into())),
        "{outcomes:?}"
    );
}

#[test]
fn kill_9_at_any_moment_leaves_a_profile_that_loads() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 0);
    let mut killed_mid_way = 0;
    for round in 0..50u64 {
        let mut child = plugin.spawn(&["refresh", "--force"]);
        // Spread the kills over the whole life of the process.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
        std::thread::sleep(Duration::from_micros((nanos ^ (round * 7919)) % 40_000));
        if child.try_wait().unwrap().is_none() {
            killed_mid_way += 1;
        }
        let _ = child.kill();
        let _ = child.wait();

        let profile = stored(&plugin, "default");
        let refresh = profile["refresh"]
            .as_str()
            .expect("a refresh token")
            .to_string();
        assert!(
            profile["access"].as_str().is_some_and(|a| !a.is_empty()),
            "round {round}: {profile}"
        );
        // A kill after the portal rotated but before the save loses that
        // rotation; give the stored token life again so rounds go on.
        if !mm.is_live(&refresh) {
            mm.add_refresh_token(&refresh);
        }
        let status = plugin.run(&["status", "--json"]);
        let state = status.json_field("/profiles/0/state");
        assert!(
            state == "valid" || state == "expiring" || state == "expired",
            "round {round}: {status:?}"
        );
    }
    assert!(
        killed_mid_way > 5,
        "only {killed_mid_way} of 50 kills hit a running process"
    );
    // No temporary file is left to confuse a reader.
    let names: Vec<String> = std::fs::read_dir(plugin.home().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(names, ["default.json"]);
}

#[test]
fn the_portal_of_the_login_is_the_one_refreshed_against() {
    let (cn, cn_mm) = MiniMax::new().start();
    let (other, other_mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&cn.url());
    let login = plugin.run(&["login", "--region", "cn", "--no-browser", "--json"]);
    login.expect_code(0);
    // Later runs name another portal; the profile keeps its issuer.
    plugin.set("MINIMAX_PORTAL_OAUTH_BASE_URL", &other.url());
    let run = plugin.run(&["refresh", "--force", "--json"]);
    run.expect_code(0);
    assert_eq!(cn_mm.refresh_count(), 1);
    assert_eq!(other_mm.refresh_count(), 0);
    assert_eq!(stored(&plugin, "default")["region"], "cn");
    assert_eq!(stored(&plugin, "default")["access"], "acc-2");
}

#[test]
fn token_uses_a_still_valid_token_when_the_refresh_fails_for_a_passing_reason() {
    let down = dead_url();
    let plugin = Plugin::new(&down);
    // Inside the 5-minute margin, but 3 minutes left.
    let before = seed_default(&plugin, &down, "ref-seed", 180_000);
    let run = plugin.run(&["token"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "acc-old\n");
    run.stderr_has("warning: could not refresh");
    assert_eq!(stored_bytes(&plugin, "default"), before);
    // The start-up hook still reports the failure to the host.
    let hook = plugin.run(&["refresh", "--json"]);
    hook.expect_code(4);
    assert_eq!(hook.json_field("/profiles/0/outcome"), "transient");
    // An expired token is never handed out.
    seed_default(&plugin, &down, "ref-seed", -1_000);
    let expired = plugin.run(&["token"]);
    expired.expect_code(4);
    assert_eq!(expired.stdout, "");
}

#[test]
fn a_portal_that_echoes_the_refresh_token_does_not_leak_it() {
    let secret = "ref-secret-0123456789abcdef";
    let (portal, _mm) = MiniMax::new()
        .refresh_replies(vec![Reply::json(
            400,
            json!({"status": "error", "base_resp": {"status_code": 1004, "status_msg": format!("refresh token {secret} already used")}}),
        )])
        .start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), secret, 0);
    for args in [&["token"][..], &["refresh", "--json"][..]] {
        let run = plugin.run(args);
        run.expect_code(3);
        assert!(
            !run.all_output().contains(secret),
            "{args:?} leaked the token: {run:?}"
        );
        assert!(run.all_output().contains("already used"), "{run:?}");
        // The profile is now marked: the second round reports the mark.
        seed_default(&plugin, &portal.url(), secret, 0);
    }
}

/// A profile marked `needs_login` on a wrong reading (a transient answer
/// read as a rejection by an older version) is asked about again by
/// `refresh --force`: its refresh token still works, so the session lives.
#[test]
fn refresh_force_asks_the_portal_again_about_a_marked_profile() {
    let (portal, _mm) = MiniMax::new().refresh_token("ref-live").start();
    let plugin = Plugin::new(&portal.url());
    let mut profile = crate::support::profile::login_json(
        "default",
        &token_url(&portal),
        "ref-live",
        3_600_000,
        "global",
    );
    profile["needs_login"] = json!(true);
    crate::support::profile::write_profile(
        &plugin,
        "default",
        &serde_json::to_vec(&profile).unwrap(),
    );
    // Without --force the mark stands and the portal is not asked.
    plugin.run(&["refresh"]).expect_code(3);
    assert_eq!(portal.count(TOKEN_PATH), 0);
    plugin.run(&["refresh", "--force"]).expect_code(0);
    assert_eq!(portal.count(TOKEN_PATH), 1);
    let after = stored(&plugin, "default");
    assert_eq!(after.get("needs_login"), None, "{after}");
    assert_ne!(after["refresh"], "ref-live");
    plugin.run(&["token"]).expect_code(0);
}
