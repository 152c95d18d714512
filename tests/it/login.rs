//! The user-code login, end to end: the real binary against a local portal.

use crate::support::cli::{Plugin, finish};
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{DEVICE_CODE_PATH, MiniMax, USER_CODE};
use crate::support::profile::{stored, stored_bytes};
use crate::support::{dead_url, now_ms};
use serde_json::{Value, json};
use std::time::Duration;

#[test]
fn pending_then_success_saves_a_profile_and_prints_the_config_patch() {
    let (portal, mm) = MiniMax::new().pending(2).start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&["--json"]);
    run.expect_code(0);
    mm.assert_no_problems();
    assert_eq!(mm.poll_count(), 3);

    let out = run.json();
    assert_eq!(out["profile_id"], "minimax-portal:default");
    assert_eq!(out["provider"], "minimax-portal");
    assert_eq!(out["region"], "global");
    assert_eq!(out["store"], "file");
    let provider = &out["config_patch"]["models"]["providers"]["minimax-portal"];
    assert_eq!(provider["baseUrl"], format!("{}/anthropic", portal.url()));
    assert_eq!(provider["api"], "anthropic-messages");
    assert_eq!(provider["authHeader"], true);
    assert!(
        provider["models"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == "MiniMax-M2.1"))
    );
    assert_eq!(out["default_model"], "minimax-portal/MiniMax-M3");
    assert_eq!(
        out["config_patch"]["auth"]["profiles"]["minimax-portal:default"],
        json!({"provider": "minimax-portal", "mode": "oauth"})
    );
    // No token in what login prints.
    assert!(!run.all_output().contains("acc-1"), "{run:?}");
    assert!(!run.all_output().contains("ref-1"), "{run:?}");
    // The link and the code were shown to the user.
    run.stderr_has(USER_CODE);
    run.stderr_has("platform.minimax.io/oauth-authorize");

    // The stored profile is the host contract.
    let stored = stored(&plugin, "default");
    assert_eq!(stored["type"], "oauth");
    assert_eq!(stored["provider"], "minimax-portal");
    assert_eq!(stored["access"], "acc-1");
    assert_eq!(stored["refresh"], "ref-1");
    assert_eq!(stored["region"], "global");
    assert_eq!(stored["schema"], 1);
    assert_eq!(
        stored["token_endpoint"],
        format!("{}/oauth2/token", portal.url())
    );
    assert_eq!(stored["expires"], out["expires"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(plugin.profile_file("default"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A second process reads the token back.
    let token = plugin.run(&["token"]);
    token.expect_code(0);
    assert_eq!(token.stdout, "acc-1\n");
    assert_eq!(token.stderr, "");
}

#[test]
fn every_expired_in_form_is_read_by_size() {
    let now = now_ms() as i64;
    let cases: [(Value, i64); 4] = [
        (json!(7200), now + 7_200_000),
        (json!(now / 1000 + 7200), (now / 1000 + 7200) * 1000),
        (json!(now + 7_200_000), now + 7_200_000),
        (json!("7200"), now + 7_200_000),
    ];
    for (raw, want) in cases {
        let (portal, _mm) = MiniMax::new()
            .token_expired_in(raw.clone())
            .interval_ms(2000)
            .start();
        let plugin = Plugin::new(&portal.url());
        let run = plugin.login(&["--json"]);
        assert_eq!(run.code, 0, "{raw}: {run:?}");
        let got = run.json()["expires"].as_i64().unwrap();
        assert!(
            (got - want).abs() < 15_000,
            "{raw}: expires {got}, want about {want}"
        );
    }
}

#[test]
fn a_malformed_expired_in_keeps_the_tokens_with_a_short_lifetime() {
    let (portal, _mm) = MiniMax::new().token_expired_in("3600s").start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&["--json"]);
    run.expect_code(0);
    run.stderr_has("expired_in").stderr_has("10 min");
    let expires = run.json()["expires"].as_i64().unwrap();
    let left = expires - now_ms() as i64;
    assert!((500_000..=600_000).contains(&left), "{left}");
    assert!(plugin.profile_file("default").exists());
}

#[test]
fn a_www_verification_link_is_rewritten_to_platform() {
    let (portal, _mm) = MiniMax::new()
        .verification_uri("https://www.minimaxi.com/oauth-authorize?user_code=TUE3-FXNG")
        .start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&[]);
    run.expect_code(0);
    run.stderr_has("https://platform.minimaxi.com/oauth-authorize?user_code=TUE3-FXNG");
    run.stderr_lacks("www.minimaxi.com");
}

#[test]
fn a_state_mismatch_stops_the_login_before_any_poll() {
    let (portal, mm) = MiniMax::new().state_echo("forged-state").start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&[]);
    run.expect_code(1);
    run.stderr_has("CSRF");
    assert_eq!(mm.poll_count(), 0);
    assert!(!plugin.profile_file("default").exists());
}

#[test]
fn a_missing_state_echo_is_a_mismatch_too() {
    let (portal, mm) = MiniMax::new().no_state_echo().start();
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(1);
    assert_eq!(mm.poll_count(), 0);
}

#[test]
fn status_error_is_fatal_with_the_portal_reason() {
    let (portal, _mm) = MiniMax::new()
        .token_replies(vec![Reply::json(
            200,
            json!({"status": "error", "base_resp": {"status_code": 1004, "status_msg": "user denied access"}}),
        )])
        .start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&[]);
    run.expect_code(1);
    run.stderr_has("user denied access");
    assert!(!plugin.profile_file("default").exists());
}

#[test]
fn a_5xx_html_page_is_transient_and_not_dumped() {
    let portal = Portal::start(|_| {
        Reply::text(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    });
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(4);
    run.stderr_has("HTTP 502");
    run.stderr_lacks("<h1>");
}

#[test]
fn non_json_is_refused() {
    let portal = Portal::start(|_| Reply::text(200, "text/plain", "hello, I am not the portal"));
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(1);
    run.stderr_has("not JSON");
}

#[test]
fn a_truncated_body_is_transient() {
    let (portal, _mm) = MiniMax::new()
        .device_reply(
            Reply::json(200, json!({"user_code": "A", "verification_uri": "https://platform.minimax.io/x", "state": "s"}))
                .truncated(),
        )
        .start();
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(4);
}

#[test]
fn an_oversized_body_is_refused_without_reading_it_all() {
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(512 * 1024));
    let portal = Portal::start(move |_| Reply::text(200, "application/json", huge.clone()));
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(1);
    run.stderr_has("larger than");
}

#[test]
fn the_code_expiring_ends_the_wait_with_a_clear_message() {
    let (portal, _mm) = MiniMax::new()
        .pending(1000)
        .code_expires_in(Duration::from_secs(5))
        .start();
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(1);
    run.stderr_has("expired before the login was approved");
}

#[test]
fn an_unreachable_portal_is_transient() {
    let run = Plugin::new(&dead_url()).login(&[]);
    run.expect_code(4);
    run.stderr_has("cannot reach");
}

#[test]
fn a_stalled_portal_times_out_instead_of_hanging() {
    let portal = Portal::start(|_| Reply::hang());
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS", "1500");
    let run = plugin.login(&[]);
    run.expect_code(4);
    run.stderr_has("timed out");
}

#[test]
fn a_redirect_is_never_followed() {
    let portal = Portal::start(|r| {
        if r.path == DEVICE_CODE_PATH {
            Reply::redirect(307, "/elsewhere/oauth2/device/code")
        } else {
            Reply::not_found()
        }
    });
    let run = Plugin::new(&portal.url()).login(&[]);
    run.expect_code(1);
    run.stderr_has("redirect");
    assert_eq!(portal.requests().len(), 1, "the redirect was followed");
}

#[test]
fn an_existing_profile_survives_a_failed_login() {
    let (good, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&good.url());
    plugin.login(&[]).expect_code(0);
    let before = stored_bytes(&plugin, "default");

    // The portal now refuses; then it is gone altogether.
    let (refusing, _mm2) = MiniMax::new()
        .token_replies(vec![Reply::json(
            200,
            json!({"status": "error", "base_resp": {"status_msg": "no"}}),
        )])
        .start();
    plugin.set("MINIMAX_PORTAL_OAUTH_BASE_URL", &refusing.url());
    plugin.login(&[]).expect_code(1);
    plugin.set("MINIMAX_PORTAL_OAUTH_BASE_URL", &dead_url());
    plugin.login(&[]).expect_code(4);

    assert_eq!(stored_bytes(&plugin, "default"), before);
    let token = plugin.run(&["token"]);
    assert_eq!(token.stdout, "acc-1\n", "{token:?}");
}

#[test]
fn resource_url_and_notification_message_are_honoured() {
    let (portal, _mm) = MiniMax::new()
        .resource_url("https://api.example-proxy.test/anthropic")
        .notification_message("Your plan renews on 1 Dec")
        .start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&["--json"]);
    run.expect_code(0);
    run.stderr_has("Your plan renews on 1 Dec");
    let out = run.json();
    assert_eq!(
        out["config_patch"]["models"]["providers"]["minimax-portal"]["baseUrl"],
        "https://api.example-proxy.test/anthropic"
    );
    assert_eq!(
        stored(&plugin, "default")["base_url"],
        "https://api.example-proxy.test/anthropic"
    );
}

#[test]
fn cn_region_is_recorded() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.run(&[
        "login",
        "--region",
        "cn",
        "--no-browser",
        "--profile",
        "china",
        "--json",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["region"], "cn");
    assert_eq!(stored(&plugin, "china")["region"], "cn");
    let status = plugin.run(&["status", "--json"]);
    status.expect_code(0);
    let profiles = status.json()["profiles"].as_array().cloned().unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0]["profile_id"], "minimax-portal:china");
    assert_eq!(profiles[0]["region"], "cn");
    assert_eq!(profiles[0]["state"], "valid");
}

#[test]
fn without_a_terminal_login_needs_region() {
    let (portal, mm) = MiniMax::new().start();
    let run = Plugin::new(&portal.url()).run(&["login", "--no-browser"]);
    run.expect_code(2);
    run.stderr_has("--region");
    assert_eq!(mm.device_code_count(), 0);
}

#[test]
fn bad_profile_names_are_usage_errors() {
    let plugin = Plugin::new(&dead_url());
    for bad in ["../etc", "a b", "x:y", ""] {
        for cmd in [
            &["token", "--profile", bad][..],
            &["logout", "--profile", bad][..],
            &["login", "--region", "global", "--profile", bad][..],
        ] {
            let run = plugin.run(cmd);
            assert_eq!(run.code, 2, "{cmd:?}: {run:?}");
        }
    }
}

#[test]
fn token_status_and_logout_without_a_profile() {
    let plugin = Plugin::new(&dead_url());
    let token = plugin.run(&["token"]);
    token.expect_code(3);
    token.stderr_has("minimax-portal-auth login");
    assert_eq!(token.stdout, "");
    let status = plugin.run(&["status", "--json"]);
    status.expect_code(1);
    assert_eq!(status.json()["profiles"], json!([]));
    let logout = plugin.run(&["logout"]);
    logout.expect_code(0);
}

#[test]
fn logout_removes_the_profile() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let run = plugin.run(&["logout", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["removed"], true);
    assert!(!plugin.profile_file("default").exists());
    plugin.run(&["token"]).expect_code(3);
}

#[test]
fn errors_come_as_json_with_json() {
    let run = Plugin::new(&dead_url()).run(&["token", "--json"]);
    run.expect_code(3);
    let out = run.json();
    assert_eq!(out["error"]["class"], "needs_login");
    assert_eq!(out["error"]["exit_code"], 3);
}

#[test]
fn ctrl_c_while_waiting_cancels_with_130_and_keeps_the_old_profile() {
    let (good, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&good.url());
    plugin.login(&[]).expect_code(0);
    let before = stored_bytes(&plugin, "default");

    let (pending, mm) = MiniMax::new().pending(10_000).start();
    plugin.set("MINIMAX_PORTAL_OAUTH_BASE_URL", &pending.url());
    let child = plugin.spawn(&["login", "--region", "global", "--no-browser"]);
    // Wait until the plugin is polling, i.e. waiting for the user.
    let mut waited = 0;
    while mm.poll_count() == 0 && waited < 200 {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    assert!(mm.poll_count() > 0, "the plugin never started polling");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let run = finish(child);
    run.expect_code(130);
    run.stderr_has("Cancelled");
    assert_eq!(stored_bytes(&plugin, "default"), before);
}
