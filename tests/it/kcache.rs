//! The kernel keyring cache in front of the Secret Service
//! (src/store/kcache.rs), with the real binary, the real Secret Service of
//! scripts/with-keyring.sh and the real kernel user keyring. "Served from
//! the cache" is proven by cutting the Secret Service off (a session bus
//! address nobody listens on): only the cache can still answer.

use crate::keyring::{keyring_plugin, unique};
use crate::support::cli::{Plugin, Run};
use crate::support::minimax::MiniMax;
use crate::support::real_keyring;
use std::process::Command;

/// Whether the cache is in use here: a real keyring, and a kernel keyring
/// this process may use (containers may forbid keyctl).
fn cache_on(plugin: &Plugin) -> bool {
    if !real_keyring() {
        return false;
    }
    let status = plugin.run(&["status", "--json"]);
    let state = status.json()["kernel_cache"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if !state.starts_with("on") {
        eprintln!("kernel cache not in use here ({state}); skipping");
        return false;
    }
    true
}

/// `token` with the Secret Service unreachable.
fn token_without_secret_service(plugin: &Plugin, name: &str) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let address = format!("unix:path={}", dir.path().join("nobody").display());
    let mut cut = plugin.command(&["token", "--profile", name]);
    cut.env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "2000");
    crate::support::cli::finish(cut.spawn().expect("spawn the binary"))
}

#[test]
fn a_warm_cache_serves_token_without_the_secret_service() {
    let (portal, mm) = MiniMax::new().start();
    let mut plugin = keyring_plugin(&portal.url());
    if !cache_on(&plugin) {
        return;
    }
    let name = unique("kc-warm");
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    let served = token_without_secret_service(&plugin, &name);
    served.expect_code(0);
    assert_eq!(served.stdout, "acc-1\n", "{served:?}");

    // Turned off, the same cut is an unreachable keyring (exit 5): the
    // answer above came from the cache.
    plugin.set("MINIMAX_PORTAL_AUTH_KERNEL_CACHE", "0");
    let off = token_without_secret_service(&plugin, &name);
    off.expect_code(5);
    assert!(!off.stdout.contains("acc-1"), "{off:?}");
    let status = plugin.run(&["status", "--json"]);
    assert!(
        status.json()["kernel_cache"]
            .as_str()
            .is_some_and(|s| s.starts_with("off")),
        "{status:?}"
    );
    plugin.set("MINIMAX_PORTAL_AUTH_KERNEL_CACHE", "1");
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
    mm.assert_no_problems();
}

#[test]
fn a_cold_cache_is_warmed_by_the_first_token() {
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = keyring_plugin(&portal.url());
    if !cache_on(&plugin) {
        return;
    }
    let name = unique("kc-cold");
    plugin.set("MINIMAX_PORTAL_AUTH_KERNEL_CACHE", "0");
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    token_without_secret_service(&plugin, &name).expect_code(5);
    plugin.set("MINIMAX_PORTAL_AUTH_KERNEL_CACHE", "1");
    // Cold: read from the Secret Service, and kept.
    let cold = plugin.run(&["token", "--profile", &name]);
    assert_eq!(cold.stdout, "acc-1\n", "{cold:?}");
    let warm = token_without_secret_service(&plugin, &name);
    assert_eq!(warm.stdout, "acc-1\n", "{warm:?}");
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

#[test]
fn a_refresh_in_another_process_replaces_the_entry() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = keyring_plugin(&portal.url());
    if !cache_on(&plugin) {
        return;
    }
    let name = unique("kc-refresh");
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    assert_eq!(
        token_without_secret_service(&plugin, &name).stdout,
        "acc-1\n"
    );
    plugin
        .run(&["refresh", "--profile", &name, "--force"])
        .expect_code(0);
    // The old entry is gone; the new one is what the store holds.
    let after = token_without_secret_service(&plugin, &name);
    after.expect_code(0);
    assert_eq!(after.stdout, "acc-2\n", "{after:?}");
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

#[test]
fn logout_and_a_rejected_refresh_remove_the_entry() {
    let (portal, mm) = MiniMax::new().start();
    let plugin = keyring_plugin(&portal.url());
    if !cache_on(&plugin) {
        return;
    }
    let name = unique("kc-logout");
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    assert_eq!(
        token_without_secret_service(&plugin, &name).stdout,
        "acc-1\n"
    );
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
    let gone = token_without_secret_service(&plugin, &name);
    assert!(!gone.stdout.contains("acc-1"), "{gone:?}");
    assert_ne!(gone.code, 0, "{gone:?}");

    // Marked needs_login: no entry either (its access token is still
    // served, from the store, with the warning that says to sign in).
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    for token in mm.live_refresh_tokens() {
        mm.revoke_refresh_token(&token);
    }
    plugin
        .run(&["refresh", "--profile", &name, "--force"])
        .expect_code(3);
    let marked = token_without_secret_service(&plugin, &name);
    marked.expect_code(5);
    assert!(!marked.stdout.contains("acc-"), "{marked:?}");
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

#[test]
fn a_profile_rotated_from_another_state_folder_is_never_served() {
    let (portal, _mm) = MiniMax::new().start();
    let here = keyring_plugin(&portal.url());
    let there = keyring_plugin(&portal.url());
    if !cache_on(&here) {
        return;
    }
    let name = unique("kc-folders");
    here.login(&["--profile", &name, "--json"]).expect_code(0);
    assert_eq!(token_without_secret_service(&here, &name).stdout, "acc-1\n");
    // The other folder shares the Secret Service item and rotates it.
    there
        .run(&["refresh", "--profile", &name, "--force"])
        .expect_code(0);
    assert_eq!(
        token_without_secret_service(&there, &name).stdout,
        "acc-2\n"
    );
    // Here: neither the outdated own entry nor the other folder's.
    let here_cut = token_without_secret_service(&here, &name);
    here_cut.expect_code(5);
    assert!(!here_cut.stdout.contains("acc-"), "{here_cut:?}");
    let here_now = here.run(&["token", "--profile", &name]);
    assert_eq!(here_now.stdout, "acc-2\n", "{here_now:?}");
    here.run(&["logout", "--profile", &name]).expect_code(0);
}

#[test]
fn a_foreign_or_broken_entry_falls_back_silently() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = keyring_plugin(&portal.url());
    if !cache_on(&plugin) {
        return;
    }
    let name = unique("kc-forged");
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    // Replace this folder's entry by garbage, then by one naming another
    // folder: keyutils answers, but neither may be served.
    let description = entry_description(&plugin, &name);
    let far_future = 32_503_680_000_000_i64;
    let forged = serde_json::json!({
        "v": 1, "folder": "/elsewhere|1|2", "access": "forged",
        "expires": far_future, "base_url": "http://x", "region": "global",
        "updated_at": far_future - 1000,
    })
    .to_string();
    for payload in ["not json", forged.as_str()] {
        let added = Command::new("keyctl")
            .args(["add", "user", &description, payload, "@u"])
            .output()
            .expect("keyctl");
        assert!(added.status.success(), "{added:?}");
        let run = plugin.run(&["token", "--profile", &name]);
        run.expect_code(0);
        assert_eq!(run.stdout, "acc-1\n", "{run:?}");
        assert_eq!(run.stderr, "", "silent: {run:?}");
    }
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

/// The entry's name, as src/store/kcache.rs makes it.
fn entry_description(plugin: &Plugin, name: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let canonical = std::fs::canonicalize(plugin.home()).expect("canonical home");
    let meta = std::fs::metadata(&canonical).expect("home metadata");
    let folder = format!("{}|{}|{}", canonical.display(), meta.dev(), meta.ino());
    let hash = folder.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("minimax-portal-auth:minimax-portal:{name}:{hash:016x}")
}

#[test]
fn twenty_processes_on_a_due_profile_refresh_once_with_the_cache_on() {
    let (portal, mm) = MiniMax::new()
        .token_expired_in(6)
        .refresh_delay(std::time::Duration::from_millis(300))
        .start();
    let plugin = keyring_plugin(&portal.url());
    if !cache_on(&plugin) {
        return;
    }
    let name = unique("kc-twenty");
    plugin.login(&["--profile", &name, "--json"]).expect_code(0);
    // Due after half its 6 s life; the entry of the login is due too.
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let children: Vec<_> = (0..20)
        .map(|_| plugin.spawn(&["token", "--profile", &name]))
        .collect();
    let runs: Vec<_> = children
        .into_iter()
        .map(crate::support::cli::finish)
        .collect();
    for run in &runs {
        run.expect_code(0);
    }
    assert_eq!(mm.refresh_count(), 1, "exactly one refresh");
    let tokens: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.stdout.trim()).collect();
    assert_eq!(tokens.len(), 1, "all print the same token: {tokens:?}");
    let token = *tokens.iter().next().unwrap();
    assert_ne!(token, "acc-1", "the due login token was not served");
    // The entry left behind is the refreshed profile's.
    let cached = token_without_secret_service(&plugin, &name);
    assert_eq!(cached.stdout.trim(), token, "{cached:?}");
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
    mm.assert_no_problems();
}
