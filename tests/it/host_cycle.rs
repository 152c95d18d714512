//! The reference host (src/bin/host.rs) through the whole cycle a real host
//! goes through: `plugins enable` -> `onboard --auth-choice ...` -> `start`,
//! against the local portal, with the real plugin binary. The host knows the
//! plugin through plugin.toml, the binary's documented interface, and the
//! library, which it reads the stored profiles with.

use crate::support::cli::{BIN, Plugin, Run, finish};
use crate::support::minimax::{MiniMax, USER_CODE};
use crate::support::profile::{stored, stored_bytes, write_profile};
use crate::support::{dead_url, now_ms, real_keyring};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");
const PLUGIN: &str = "minimax-portal-auth";
/// The longest a terminal-driven onboarding may take.
const TTY_DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The host binary
// ---------------------------------------------------------------------------

/// The reference host (src/bin/host.rs), which Cargo builds for the tests
/// (Cargo.toml's `reference-host` feature, turned on by the dev-dependency).
fn host_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_host"))
}

// ---------------------------------------------------------------------------
// A host folder with its plugin environment
// ---------------------------------------------------------------------------

struct Host {
    /// The host's DIR (config.json).
    home: tempfile::TempDir,
    /// The plugin's state folder and variables: the environment of every
    /// run of the host, and of the plugin run directly.
    plugin: Plugin,
}

impl Host {
    fn new(portal_url: &str) -> Host {
        let mut plugin = Plugin::new(portal_url);
        // The host runs the manifest's `binary` from PATH.
        let bin_dir = Path::new(BIN)
            .parent()
            .expect("the folder of the plugin binary");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path)),
        )
        .expect("a PATH");
        plugin.set("PATH", path.to_str().expect("UTF-8 PATH"));
        Host {
            home: tempfile::tempdir().expect("temp dir"),
            plugin,
        }
    }

    fn set(&mut self, name: &str, value: &str) -> &mut Host {
        self.plugin.set(name, value);
        self
    }

    fn dir(&self) -> &Path {
        self.home.path()
    }

    /// `host --home DIR ARGS...`
    fn host(&self, args: &[&str]) -> Run {
        let mut all = vec!["--home", self.dir().to_str().expect("UTF-8 temp path")];
        all.extend_from_slice(args);
        finish(
            self.plugin
                .command_for(host_bin(), &all)
                .spawn()
                .expect("spawn the host"),
        )
    }

    fn enable(&self) {
        let manifest = Path::new(CRATE_DIR).join("plugin.toml");
        let manifest = manifest.to_str().expect("UTF-8 crate path");
        let run = self.host(&["plugins", "enable", PLUGIN, "--manifest", manifest]);
        run.expect_code(0);
    }

    fn onboard(&self, choice: &str) -> Run {
        self.host(&["onboard", "--auth-choice", choice, "--", "--no-browser"])
    }

    fn start_json(&self) -> (i32, Value) {
        self.start_json_with(&[])
    }

    /// `start --json` with some variables changed for this run only.
    fn start_json_with(&self, env: &[(&str, &str)]) -> (i32, Value) {
        let dir = self.dir().to_str().expect("UTF-8 temp path");
        let mut cmd = self
            .plugin
            .command_for(host_bin(), &["--home", dir, "start", "--json"]);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let run = finish(cmd.spawn().expect("spawn the host"));
        assert!(
            !run.all_output().contains("acc-") && !run.all_output().contains("ref-"),
            "a token leaked: {run:?}"
        );
        (run.code, run.json())
    }

    fn config_path(&self) -> PathBuf {
        self.dir().join("config.json")
    }

    fn config(&self) -> Value {
        let bytes = std::fs::read(self.config_path()).expect("config.json");
        serde_json::from_slice(&bytes).expect("config.json is JSON")
    }

    /// Makes the stored tokens an hour old: with 2 minutes left they are
    /// then due (a token that only ever lived 2 minutes is due only in its
    /// last minute).
    fn age(&self, name: &str) {
        let mut profile = stored(&self.plugin, name);
        profile["updated_at"] = json!(now_ms() as i64 - 3_600_000);
        write_profile(
            &self.plugin,
            name,
            &serde_json::to_vec(&profile).expect("profile JSON"),
        );
    }
}

/// The catalog as plugin.toml declares it: (ids, default id, the table).
fn manifest_catalog() -> (Vec<String>, String, Vec<toml::Value>) {
    let text = std::fs::read_to_string(Path::new(CRATE_DIR).join("plugin.toml"))
        .expect("read plugin.toml");
    let manifest: toml::Table = text.parse().expect("plugin.toml is TOML");
    let models = manifest["models"]["catalog"]
        .as_array()
        .expect("models.catalog is an array")
        .clone();
    let ids = models
        .iter()
        .map(|m| {
            m["id"]
                .as_str()
                .expect("a model id is a string")
                .to_string()
        })
        .collect();
    let default = manifest["models"]["default"]
        .as_str()
        .expect("models.default is a string")
        .to_string();
    (ids, default, models)
}

fn refs(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| format!("minimax-portal/{id}"))
        .collect()
}

fn assert_near(got: i64, want: i64, what: &str) {
    assert!(
        (got - want).abs() < 60_000,
        "{what}: {got}, want about {want}"
    );
}

// ---------------------------------------------------------------------------
// The cycle
// ---------------------------------------------------------------------------

fn full_cycle(choice: &str, region: &str) {
    let (portal, mm) = MiniMax::new().start();
    let host = Host::new(&portal.url());
    // Settings the user already has: onboarding must keep them.
    std::fs::write(
        host.config_path(),
        serde_json::to_vec(&json!({
            "gateway": {"port": 18789},
            "models": {"providers": {"other": {"baseUrl": "https://other.test/v1"}}},
            "agents": {"defaults": {"model": {"primary": "other/x", "fallbacks": ["other/y"]}}},
        }))
        .unwrap(),
    )
    .unwrap();

    // 1. plugins enable
    host.enable();
    let manifest_path = Path::new(CRATE_DIR).join("plugin.toml");
    assert_eq!(
        host.config()["plugins"]["entries"][PLUGIN],
        json!({"enabled": true, "manifest": manifest_path.to_str().unwrap()})
    );

    // 2. onboard
    let before_login = now_ms() as i64;
    let run = host.onboard(choice);
    run.expect_code(0);
    mm.assert_no_problems();
    assert_eq!(mm.device_code_count(), 1);
    // The plugin's terminal output reached the user through the host.
    run.stderr_has(USER_CODE);
    assert!(
        !run.all_output().contains("acc-1") && !run.all_output().contains("ref-1"),
        "a token leaked: {run:?}"
    );
    run.stdout_has("Onboarded minimax-portal:default");

    let config = host.config();
    let (ids, default, models) = manifest_catalog();
    let provider = &config["models"]["providers"]["minimax-portal"];
    let base_url = format!("{}/anthropic", portal.url());
    assert_eq!(provider["baseUrl"], base_url.as_str());
    assert_eq!(provider["api"], "anthropic-messages");
    assert_eq!(provider["authHeader"], true);
    let configured = provider["models"].as_array().expect("models array");
    let configured_ids: Vec<&str> = configured
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(configured_ids, ids);
    for (entry, declared) in configured.iter().zip(&models) {
        assert_eq!(
            entry["contextWindow"].as_i64(),
            declared["context_window"].as_integer(),
            "{entry}"
        );
        assert_eq!(
            entry["maxTokens"].as_i64(),
            declared["max_tokens"].as_integer(),
            "{entry}"
        );
        assert_eq!(
            entry["reasoning"].as_bool(),
            declared["reasoning"].as_bool()
        );
    }
    assert_eq!(
        config["auth"]["profiles"]["minimax-portal:default"],
        json!({"provider": "minimax-portal", "mode": "oauth"})
    );
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        format!("minimax-portal/{default}").as_str()
    );
    assert_eq!(default, "MiniMax-M3");
    assert_eq!(
        config["agents"]["defaults"]["models"]["minimax-portal/MiniMax-M3"]["alias"],
        "minimax-m3"
    );
    // Deep merge: what was there stays.
    assert_eq!(config["gateway"]["port"], 18789);
    assert_eq!(
        config["models"]["providers"]["other"]["baseUrl"],
        "https://other.test/v1"
    );
    assert_eq!(
        config["agents"]["defaults"]["model"]["fallbacks"],
        json!(["other/y"])
    );
    assert_eq!(config["plugins"]["entries"][PLUGIN]["enabled"], true);

    // The stored profile, as the plugin wrote it.
    let stored = stored(&host.plugin, "default");
    assert_eq!(stored["region"], region);
    assert_eq!(stored["provider"], "minimax-portal");
    assert_eq!(stored["type"], "oauth");
    let expires = stored["expires"].as_i64().expect("expires");
    assert_near(expires, before_login + 3_600_000, "stored expires");

    // 3. start
    let (code, out) = host.start_json();
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["startup"][PLUGIN]["exit_code"], 0, "{out:#}");
    assert_eq!(out["startup"][PLUGIN]["warning"], Value::Null, "{out:#}");
    let rows = out["profiles"].as_array().expect("profiles");
    assert_eq!(rows.len(), 1, "{out:#}");
    let row = &rows[0];
    assert_eq!(row["profile_id"], "minimax-portal:default");
    assert_eq!(row["usable"], true, "{row:#}");
    assert_eq!(row["expires"].as_i64(), Some(expires));
    assert_eq!(row["models"], json!(refs(&ids)));
    assert_eq!(row["base_url"], base_url.as_str());
    assert_eq!(row["store"], "file");
    assert_eq!(row["region"], region);
    assert_eq!(row["refresh"], "valid");
    // Nothing was due: start made no refresh request.
    assert_eq!(mm.refresh_count(), 0);

    // The human report says the same.
    let human = host.host(&["start"]);
    human.expect_code(0);
    human.stdout_has(&format!(
        "minimax-portal:default ({region}, file): ready until"
    ));
    human.stdout_has("minimax-portal/MiniMax-M3");
    human.stdout_has(&base_url);
}

#[test]
fn global_cycle_enable_onboard_start() {
    full_cycle("minimax-global-oauth", "global");
}

#[test]
fn cn_cycle_enable_onboard_start() {
    full_cycle("minimax-cn-oauth", "cn");
}

#[test]
fn onboarding_needs_the_plugin_enabled_and_a_known_choice() {
    let (portal, mm) = MiniMax::new().start();
    let host = Host::new(&portal.url());
    let run = host.onboard("minimax-global-oauth");
    assert_ne!(run.code, 0, "{run:?}");
    run.stderr_has("plugins enable");
    assert!(!host.config_path().exists());

    host.enable();
    let run = host.onboard("minimax-moon-oauth");
    run.expect_code(2);
    run.stderr_has("minimax-portal, minimax-global-oauth, minimax-cn-oauth");
    assert_eq!(mm.device_code_count(), 0);
}

#[test]
fn a_failed_login_passes_the_exit_code_and_leaves_the_config() {
    let host = Host::new(&dead_url());
    host.enable();
    let before = std::fs::read(host.config_path()).unwrap();
    let run = host.onboard("minimax-global-oauth");
    // 4: transient (the portal cannot be reached), straight from the plugin.
    run.expect_code(4);
    run.stderr_has("cannot reach");
    run.stderr_has("unchanged");
    assert_eq!(std::fs::read(host.config_path()).unwrap(), before);

    // Without a terminal the region-asking choice is a usage error (2).
    let (portal, mm) = MiniMax::new().start();
    let mut host = host;
    host.set("MINIMAX_PORTAL_OAUTH_BASE_URL", &portal.url());
    let run = host.onboard("minimax-portal");
    run.expect_code(2);
    run.stderr_has("--region");
    assert_eq!(mm.device_code_count(), 0);
    assert_eq!(std::fs::read(host.config_path()).unwrap(), before);
}

#[test]
fn a_malformed_manifest_is_refused_naming_the_field() {
    let original = std::fs::read_to_string(Path::new(CRATE_DIR).join("plugin.toml")).unwrap();
    let global_login =
        r#"command = ["minimax-portal-auth", "login", "--region", "global", "--json"]"#;
    // Where the broken entries sit in plugin.toml (the messages name them).
    let manifest: toml::Table = original.parse().unwrap();
    let global = manifest["auth_choices"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["id"].as_str() == Some("minimax-global-oauth"))
        .expect("the minimax-global-oauth choice");
    let (ids, _, _) = manifest_catalog();
    let m3 = ids
        .iter()
        .position(|id| id == "MiniMax-M3")
        .expect("MiniMax-M3");
    let global_command = format!("auth_choices[{global}].command");
    let cases: [(&str, &str, String); 7] = [
        (
            global_login,
            "command = []",
            format!("{global_command} must be a non-empty list of strings"),
        ),
        (
            global_login,
            r#"command = "minimax-portal-auth login --region global""#,
            format!("{global_command} must be a non-empty list of strings"),
        ),
        (
            r#"command = ["minimax-portal-auth", "refresh", "--all", "--json"]"#,
            r#"command = ["some-other-tool", "refresh"]"#,
            "startup.command[0] must be the plugin's binary".to_string(),
        ),
        (
            r#"default = "MiniMax-M3""#,
            r#"default = "MiniMax-M9""#,
            r#"models.default "MiniMax-M9" must be the id of a model in models.catalog"#
                .to_string(),
        ),
        (
            "context_window = 1000000",
            r#"context_window = "1M""#,
            format!("models.catalog[{m3}].context_window must be a positive integer"),
        ),
        (
            "input = [\"text\", \"image\"]\nreasoning = true",
            "input = [\"text\", \"image\"]\nreasoning = \"yes\"",
            format!("models.catalog[{m3}].reasoning must be true or false"),
        ),
        (
            r#"service = "minimax-portal-auth""#,
            "# no service",
            "profile.keyring.service must be a non-empty string".to_string(),
        ),
    ];
    let host = Host::new(&dead_url());
    let copies = tempfile::tempdir().unwrap();
    for (i, (from, to, message)) in cases.iter().enumerate() {
        assert_eq!(
            original.matches(from).count(),
            1,
            "plugin.toml changed: {from:?} is not there once"
        );
        let dir = copies.path().join(i.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plugin.toml");
        std::fs::write(&path, original.replace(from, to)).unwrap();
        let run = host.host(&[
            "plugins",
            "enable",
            PLUGIN,
            "--manifest",
            path.to_str().unwrap(),
        ]);
        assert_ne!(run.code, 0, "{to:?} was accepted: {run:?}");
        assert!(
            run.stderr.contains(&format!("plugin.toml: {message}")),
            "{to:?}: {}",
            run.stderr
        );
        assert!(!host.config_path().exists(), "{to:?}: config was written");
    }

    // A broken manifest installed in DIR/plugins/<id>/ is found by default.
    let installed = host.dir().join("plugins").join(PLUGIN);
    std::fs::create_dir_all(&installed).unwrap();
    std::fs::write(
        installed.join("plugin.toml"),
        original.replace(global_login, "command = [1, 2]"),
    )
    .unwrap();
    let run = host.host(&["plugins", "enable", PLUGIN]);
    assert_ne!(run.code, 0, "{run:?}");
    run.stderr_has(&format!(
        "{}: {global_command} must be a non-empty list of strings",
        installed.join("plugin.toml").display()
    ));

    // An intact copy is accepted and recorded where it is.
    std::fs::write(installed.join("plugin.toml"), &original).unwrap();
    let run = host.host(&["plugins", "enable", PLUGIN]);
    run.expect_code(0);
    assert_eq!(
        host.config()["plugins"]["entries"][PLUGIN]["manifest"],
        installed.join("plugin.toml").to_str().unwrap()
    );
}

#[test]
fn start_during_a_portal_outage_uses_the_stored_profile_and_says_so() {
    // Tokens valid for 2 minutes: inside the 5 minute margin, so start-up
    // wants to refresh them.
    let (portal, mm) = MiniMax::new().token_expired_in(120).start();
    let mut host = Host::new(&portal.url());
    host.enable();
    let run = host.onboard("minimax-global-oauth");
    run.expect_code(0);
    host.age("default");
    let stored_before = stored_bytes(&host.plugin, "default");
    let expires = stored(&host.plugin, "default")["expires"].as_i64().unwrap();

    // The portal goes away.
    drop(portal);
    let dead = dead_url();
    host.set("MINIMAX_PORTAL_OAUTH_BASE_URL", &dead)
        .set("MINIMAX_PORTAL_API_BASE_URL", &dead);

    let (code, out) = host.start_json();
    assert_eq!(code, 0, "still valid for a while: {out:#}");
    assert_eq!(out["startup"][PLUGIN]["exit_code"], 4, "{out:#}");
    let warning = out["startup"][PLUGIN]["warning"]
        .as_str()
        .expect("a warning");
    assert!(warning.contains("could not reach the portal"), "{warning}");
    assert!(warning.contains("untouched"), "{warning}");
    let row = &out["profiles"][0];
    assert_eq!(row["usable"], true, "{row:#}");
    assert_eq!(row["expires"].as_i64(), Some(expires));
    assert_eq!(row["refresh"], "transient");
    assert_eq!(row["models"].as_array().map(Vec::len), Some(7));
    // The failed refresh left the profile as it was.
    assert_eq!(stored_bytes(&host.plugin, "default"), stored_before);
    assert_eq!(mm.refresh_count(), 0, "the dead portal got a request");

    let human = host.host(&["start"]);
    human.expect_code(0);
    human.stderr_has("host: warning: the start-up refresh could not reach");
    human.stdout_has("minimax-portal:default (global, file): ready until");

    // Time passes: the token is now expired and still cannot be refreshed.
    let mut profile = stored(&host.plugin, "default");
    profile["expires"] = json!(now_ms() as i64 - 60_000);
    write_profile(
        &host.plugin,
        "default",
        &serde_json::to_vec(&profile).unwrap(),
    );
    let (code, out) = host.start_json();
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["startup"][PLUGIN]["exit_code"], 4, "{out:#}");
    let row = &out["profiles"][0];
    assert_eq!(row["usable"], false, "{row:#}");
    assert!(
        row["problem"].as_str().unwrap().contains("expired"),
        "{row:#}"
    );
    assert!(
        row["fix"]
            .as_str()
            .unwrap()
            .contains("onboard --auth-choice minimax-portal"),
        "{row:#}"
    );
    assert_eq!(row["models"], json!([]));
    let human = host.host(&["start"]);
    human.expect_code(1);
    human.stdout_has("NOT usable");
    human.stdout_has("fix: run: host --home");
}

#[test]
fn start_after_a_rejected_refresh_token_asks_for_a_new_login() {
    let (portal, mm) = MiniMax::new().token_expired_in(120).start();
    let host = Host::new(&portal.url());
    host.enable();
    host.onboard("minimax-cn-oauth").expect_code(0);
    host.age("default");
    mm.revoke_refresh_token("ref-1");

    let (code, out) = host.start_json();
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["startup"][PLUGIN]["exit_code"], 3, "{out:#}");
    assert!(
        out["startup"][PLUGIN]["warning"]
            .as_str()
            .unwrap()
            .contains("must sign in again"),
        "{out:#}"
    );
    assert_eq!(mm.refresh_count(), 1);
    let row = &out["profiles"][0];
    assert_eq!(row["usable"], false, "{row:#}");
    assert_eq!(row["refresh"], "needs_login");
    assert_eq!(row["region"], "cn");
    assert!(
        row["problem"].as_str().unwrap().contains("rejected"),
        "{row:#}"
    );
    // Signing in again makes it usable.
    host.onboard("minimax-cn-oauth").expect_code(0);
    let (code, out) = host.start_json();
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["profiles"][0]["usable"], true);
}

#[test]
fn start_without_profiles_says_what_to_do() {
    let host = Host::new(&dead_url());
    host.enable();
    let run = host.host(&["start"]);
    run.expect_code(1);
    run.stdout_has("No minimax-portal profile is configured; run: host --home");
    let (code, out) = host.start_json();
    assert_eq!(code, 1);
    assert_eq!(out["profiles"], json!([]));
}

// ---------------------------------------------------------------------------
// The region prompt on a terminal
// ---------------------------------------------------------------------------

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `host onboard --auth-choice minimax-portal` on a pseudo-terminal
/// (util-linux `script`), waits for the region prompt, then types `keys`.
fn onboard_on_a_tty(host: &Host, keys: &[u8]) -> (i32, String) {
    let line = format!(
        "{} --home {} onboard --auth-choice minimax-portal -- --no-browser",
        shell_quote(host_bin().to_str().expect("UTF-8 host path")),
        shell_quote(host.dir().to_str().expect("UTF-8 temp path"))
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    host.plugin.apply_env(&mut cmd);
    let mut child = cmd.spawn().expect("run script");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut screen = Vec::new();
    let mut typed = false;
    let status = loop {
        while let Ok(chunk) = rx.try_recv() {
            screen.extend_from_slice(&chunk);
        }
        if !typed
            && String::from_utf8_lossy(&screen).contains("Which MiniMax region is your account on?")
        {
            // Let the prompt switch the terminal to raw mode first.
            std::thread::sleep(Duration::from_millis(300));
            stdin.write_all(keys).expect("type into the terminal");
            stdin.flush().expect("type into the terminal");
            typed = true;
        }
        if let Some(status) = child.try_wait().expect("wait for script") {
            break status;
        }
        if started.elapsed() > TTY_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "onboarding on a terminal ran for over {TTY_DEADLINE:?}:\n{}",
                String::from_utf8_lossy(&screen)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let _ = reader.join();
    while let Ok(chunk) = rx.try_recv() {
        screen.extend_from_slice(&chunk);
    }
    let screen = String::from_utf8_lossy(&screen).into_owned();
    assert!(typed, "the region prompt never appeared:\n{screen}");
    (status.code().unwrap_or(-1), screen)
}

fn have_script() -> bool {
    let there = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !there {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the terminal tests: no util-linux `script` to make a pty \
             (bash scripts/install-deps.sh keyring installs it, package bsdutils)"
        );
        eprintln!(
            "skipped: no util-linux `script` to make a terminal \
             (bash scripts/install-deps.sh keyring)"
        );
    }
    there
}

#[test]
fn the_asking_choice_prompts_for_the_region_on_a_terminal() {
    if !cfg!(target_os = "linux") || !have_script() {
        return;
    }
    let (portal, mm) = MiniMax::new().start();
    let host = Host::new(&portal.url());
    host.enable();

    // Enter takes the default: Global.
    let (code, screen) = onboard_on_a_tty(&host, b"\r");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(USER_CODE), "{screen}");
    assert_eq!(stored(&host.plugin, "default")["region"], "global");
    assert_eq!(
        host.config()["auth"]["profiles"]["minimax-portal:default"],
        json!({"provider": "minimax-portal", "mode": "oauth"})
    );

    // Arrow down, then Enter: CN; and yes, replace the Global profile.
    let (code, screen) = onboard_on_a_tty(&host, b"\x1b[B\ry");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Replace it, Global → CN?"), "{screen}");
    assert_eq!(stored(&host.plugin, "default")["region"], "cn");
    mm.assert_no_problems();
    assert_eq!(mm.device_code_count(), 2);

    let (code, out) = host.start_json();
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["profiles"][0]["region"], "cn");
    assert_eq!(out["profiles"][0]["usable"], true);
}

// ---------------------------------------------------------------------------
// The real OS keyring
// ---------------------------------------------------------------------------

/// Logs `default` out of the keyring however the test ends.
struct LogoutOnDrop<'a>(&'a Host);

impl Drop for LogoutOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.plugin.run(&["logout"]);
    }
}

#[test]
fn keyring_cycle_reads_the_secret_service_directly() {
    if !real_keyring() {
        return;
    }
    let (portal, mm) = MiniMax::new().start();
    let mut host = Host::new(&portal.url());
    host.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    // The auth choices sign in profile `default`; the other keyring tests use
    // unique names, so `default` is this test's alone.
    let _logout = LogoutOnDrop(&host);
    host.enable();
    let run = host.onboard("minimax-global-oauth");
    run.expect_code(0);
    mm.assert_no_problems();
    assert!(
        !host.plugin.profile_file("default").exists(),
        "the profile went to a plain file"
    );

    let status = host.plugin.run(&["status", "--json"]);
    status.expect_code(0);
    let expires = status.json()["profiles"][0]["expires"]
        .as_i64()
        .expect("expires");

    for mode in ["keyring", "auto"] {
        let (code, out) = host.start_json_with(&[("MINIMAX_PORTAL_AUTH_STORE", mode)]);
        assert_eq!(code, 0, "{mode}: {out:#}");
        let row = &out["profiles"][0];
        assert_eq!(row["usable"], true, "{mode}: {row:#}");
        assert_eq!(row["store"], "keyring", "{mode}: {row:#}");
        assert_eq!(row["expires"].as_i64(), Some(expires), "{mode}");
        assert_eq!(row["region"], "global");
        assert_eq!(row["models"].as_array().map(Vec::len), Some(7));
    }

    let logout = host.plugin.run(&["logout"]);
    logout.expect_code(0);
    let (code, out) = host.start_json();
    assert_eq!(code, 1, "{out:#}");
    let row = &out["profiles"][0];
    assert_eq!(row["usable"], false);
    assert_eq!(row["problem"], "no stored profile");
}
