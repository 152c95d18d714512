//! The plugin route into the real OpenClaw (2026.9.6 from the npm
//! registry, offline): `openclaw setup` installs our plugin through
//! OpenClaw's own commands, `openclaw onboard --auth-choice minimax-portal`
//! signs in through this tool, every turn carries our token, a running
//! Gateway gets the refreshed one with no restart, eight OpenClaw processes
//! cause one refresh, a revoked grant shows our fix, and no token lands in
//! OpenClaw's files.

use crate::openclaw::{make_due, portal_and_model, turn};
use crate::support::cli::{Plugin, finish};
use crate::support::http_server::Portal;
use crate::support::minimax::MiniMaxState;
use crate::support::now_ms;
use crate::support::openclaw::{self, IsolatedOpenClaw, free_port};
use crate::support::profile::{stored, write_profile};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ONBOARD: &[&str] = &[
    "onboard",
    "--non-interactive",
    "--accept-risk",
    "--skip-health",
    "--skip-daemon",
    "--skip-bootstrap",
    "--skip-channels",
    "--skip-skills",
    "--skip-search",
    "--skip-ui",
    "--auth-choice",
    "minimax-portal",
];

/// Our binary and an isolated OpenClaw that share a file store, with the
/// plugin installed by `openclaw setup` before any login.
fn set_up(program: &Path) -> (Portal, Arc<MiniMaxState>, Plugin, IsolatedOpenClaw) {
    let (portal, mm) = portal_and_model();
    let plugin = Plugin::new(&portal.url());
    let mut oc = IsolatedOpenClaw::new(program);
    oc.set("MINIMAX_PORTAL_REGION", "global");
    let setup = oc.plugin_run(
        &plugin,
        &[
            "openclaw",
            "setup",
            "--openclaw",
            program.to_str().expect("utf-8"),
            "--json",
        ],
    );
    setup.expect_code(0);
    assert_eq!(setup.json()["route"], "plugin");
    assert_eq!(setup.json()["plugin"], "minimax-portal-keyring");
    (portal, mm, plugin, oc)
}

/// The last model request: its bearer token and `max_tokens`.
fn last_model_request(portal: &Portal) -> (String, Value) {
    let request = portal
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/v1/messages"))
        .expect("a model request");
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    (
        request.header("authorization").unwrap_or("").to_string(),
        body["max_tokens"].clone(),
    )
}

/// Every file under `dir` that contains `needle`.
fn files_with(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_with(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn onboard_signs_in_through_us_and_every_turn_carries_our_token() {
    let Some(program) = openclaw::command() else {
        return;
    };
    let _turn = openclaw::one_at_a_time();
    let (portal, mm, plugin, oc) = set_up(&program);

    // OpenClaw's own onboarding signs in through this tool.
    let onboard = oc.run(&plugin, ONBOARD);
    onboard.expect_code(0);
    onboard.stderr_has("confirm the code");
    let profile = stored(&plugin, "default");
    assert_eq!(profile["access"], "acc-1");
    let config = oc.config();
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"], "minimax-portal/MiniMax-M3",
        "{config}"
    );
    assert_eq!(
        config["models"]["providers"]["minimax-portal"]["baseUrl"],
        format!("{}/anthropic", portal.url())
    );
    oc.run(&plugin, &["plugins", "doctor"]).expect_code(0);

    // A turn sends exactly our token; the models are the bundled plugin's
    // (the provider lists none of its own), with its max_tokens.
    assert_eq!(
        config["models"]["providers"]["minimax-portal"]["models"],
        json!([])
    );
    turn(&oc, &plugin, true).expect_code(0);
    let (bearer, max_tokens) = last_model_request(&portal);
    assert_eq!(bearer, "Bearer acc-1");
    assert!(
        max_tokens.as_u64().is_some_and(|n| n > 0 && n < 131_072),
        "{max_tokens}"
    );

    // Due: the next turn refreshes (once) and carries the new token.
    make_due(&plugin, "default");
    turn(&oc, &plugin, true).expect_code(0);
    assert_eq!(last_model_request(&portal).0, "Bearer acc-2");
    assert_eq!(mm.refresh_count(), 1);

    // No token reached OpenClaw's files (config, auth store, logs).
    let profile = stored(&plugin, "default");
    for token in [
        "acc-1",
        "acc-2",
        profile["refresh"].as_str().unwrap_or("refresh"),
    ] {
        assert_eq!(
            files_with(oc.root(), token),
            Vec::<String>::new(),
            "{token}"
        );
    }

    // The grant is revoked: OpenClaw's output carries our fix. A new
    // login, and the next turn works without touching OpenClaw.
    mm.revoke_refresh_token(profile["refresh"].as_str().expect("refresh token"));
    make_due(&plugin, "default");
    let mut expired = stored(&plugin, "default");
    expired["expires"] = json!(now_ms() as i64 - 1_000);
    write_profile(
        &plugin,
        "default",
        &serde_json::to_vec(&expired).expect("JSON"),
    );
    let dead = turn(&oc, &plugin, true);
    assert_ne!(dead.code, 0);
    assert!(
        dead.all_output().contains("fix: minimax-portal-auth login"),
        "{}",
        dead.all_output()
    );
    plugin.login(&["--yes"]).expect_code(0);
    turn(&oc, &plugin, true).expect_code(0);
    assert_eq!(
        last_model_request(&portal).0,
        format!(
            "Bearer {}",
            stored(&plugin, "default")["access"].as_str().unwrap_or("")
        )
    );

    // And out again: a config that validates, no plugin entry.
    let removed = oc.plugin_run(
        &plugin,
        &[
            "openclaw",
            "setup",
            "--remove",
            "--openclaw",
            program.to_str().expect("utf-8"),
            "--json",
        ],
    );
    removed.expect_code(0);
    assert_eq!(removed.json()["removed"], true);
    let config = oc.config();
    assert!(
        config
            .pointer("/plugins/entries/minimax-portal-keyring")
            .is_none(),
        "{config}"
    );
    oc.run(&plugin, &["config", "validate", "--json"])
        .expect_code(0);
}

#[test]
fn a_running_gateway_gets_the_refreshed_token_and_eight_processes_refresh_once() {
    let Some(program) = openclaw::command() else {
        return;
    };
    let _turn = openclaw::one_at_a_time();
    let (portal, mm, plugin, mut oc) = set_up(&program);
    plugin.login(&[]).expect_code(0);
    // Set up again, now with a profile: the provider and the auth store.
    let setup = [
        "openclaw",
        "setup",
        "--set-default",
        "--openclaw",
        program.to_str().expect("utf-8"),
        "--json",
    ];
    let first = oc.plugin_run(&plugin, &setup);
    assert_eq!(first.expect_code(0).json()["changed"], true);
    assert_eq!(
        oc.config()["agents"]["defaults"]["model"]["primary"],
        "minimax-portal/MiniMax-M3"
    );
    // Once more changes nothing, to the byte.
    let before = std::fs::read(oc.config_path()).expect("config");
    let again = oc.plugin_run(&plugin, &setup);
    assert_eq!(again.expect_code(0).json()["changed"], false);
    assert_eq!(std::fs::read(oc.config_path()).expect("config"), before);

    let port = free_port();
    let gateway = oc.start_gateway(&plugin, port);
    turn(&oc, &plugin, false).expect_code(0);
    assert_eq!(last_model_request(&portal).0, "Bearer acc-1");

    // The token falls due while the Gateway runs: within a minute the
    // plugin refreshes ahead, and a turn carries the new token.
    make_due(&plugin, "default");
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(10));
        turn(&oc, &plugin, false).expect_code(0);
        if last_model_request(&portal).0 == "Bearer acc-2" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the Gateway never sent the refreshed token"
        );
    }
    assert_eq!(mm.refresh_count(), 1);
    assert_eq!(gateway.stop(), Some(0));

    // Eight OpenClaw processes at once on a due profile: one refresh.
    // (`models status --probe` asks the plugin and sends one model request.)
    // Each in its own copy of the state folder (one owner per folder).
    make_due(&plugin, "default");
    let copies: Vec<IsolatedOpenClaw> = (0..8).map(|_| oc.copy()).collect();
    let children: Vec<_> = copies
        .iter()
        .map(|copy| {
            copy.command(&plugin, &["models", "status", "--probe", "--json"])
                .spawn()
                .expect("openclaw models status")
        })
        .collect();
    for run in children.into_iter().map(finish) {
        run.expect_code(0);
    }
    assert_eq!(mm.refresh_count(), 2, "eight processes, one refresh");
}

#[test]
fn interactive_onboard_on_a_terminal_signs_in_through_us() {
    use crate::support::tty::Tty;
    let Some(program) = openclaw::command() else {
        return;
    };
    let _turn = openclaw::one_at_a_time();
    let (portal, _mm, plugin, oc) = set_up(&program);
    let args = [
        "onboard",
        "--accept-risk",
        "--flow",
        "quickstart",
        "--skip-health",
        "--skip-daemon",
        "--skip-bootstrap",
        "--skip-channels",
        "--skip-skills",
        "--skip-search",
        "--skip-ui",
        "--skip-hooks",
        "--auth-choice",
        "minimax-portal",
    ];
    let mut tty = Tty::spawn_program(
        &plugin,
        program.to_str().expect("utf-8"),
        &args,
        (100, 40),
        "true",
        oc.vars(),
    );
    // OpenClaw's wizard asks its own questions before and after our sign-in
    // (telemetry, the agent's name, the model…): take its defaults.
    let started = Instant::now();
    let mut signed_in = false;
    while tty.running() && started.elapsed() < Duration::from_secs(420) {
        std::thread::sleep(Duration::from_secs(2));
        signed_in = signed_in || tty.screen().contains("Signed in to MiniMax Global");
        if tty.shows_next("What should we call your first agent?") {
            tty.type_keys(b"main\r");
        } else if tty.shows_next("◆") {
            tty.type_keys(b"\r");
        }
    }
    assert!(signed_in, "{}", tty.screen());
    let (code, screen) = tty.finish(Duration::from_secs(30));
    assert!(!screen.contains("AI access test failed"), "{screen}");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(stored(&plugin, "default")["access"], "acc-1");
    // A turn of the agent the wizard created carries our token.
    let config = oc.config();
    let agent = config["agents"]["entries"]
        .as_object()
        .and_then(|agents| agents.keys().next().cloned())
        .unwrap_or_else(|| panic!("the wizard made no agent: {config}"));
    oc.run(
        &plugin,
        &[
            "agent",
            "--local",
            "--agent",
            &agent,
            "--message",
            "ping",
            "--json",
        ],
    )
    .expect_code(0);
    assert_eq!(last_model_request(&portal).0, "Bearer acc-1");
}

/// The plugin's own commands, without OpenClaw: the sign-in it starts, the
/// answer on every turn, and what logout says about a profile OpenClaw uses.
#[test]
fn the_plugin_commands_answer_and_logout_warns_about_openclaw() {
    let (portal, mm) = portal_and_model();
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_REGION", "global");

    // A non-interactive sign-in: OpenClaw's config in, the new one out.
    let config = br#"{"gateway": {"mode": "local"}}"#;
    let onboard = plugin.run_with_stdin(&["openclaw", "onboard", "--non-interactive"], config);
    onboard.expect_code(0);
    let out = onboard.json();
    assert_eq!(out["config"]["gateway"]["mode"], "local");
    assert_eq!(
        out["config"]["agents"]["defaults"]["model"]["primary"],
        "minimax-portal/MiniMax-M3"
    );
    let placeholder = &out["profiles"][0]["credential"];
    assert_eq!(placeholder["expires"], 0);
    assert!(
        !onboard.stdout.contains("acc-1"),
        "no token for OpenClaw's store"
    );

    // Every turn: the token, until a minute before it expires.
    let answer = plugin.run(&["openclaw", "credentials"]);
    answer.expect_code(0);
    let answer = answer.json();
    assert_eq!(answer["profiles"][0]["credential"]["access"], "acc-1");
    assert_ne!(
        answer["profiles"][0]["credential"]["refresh"],
        stored(&plugin, "default")["refresh"]
    );
    let expires = stored(&plugin, "default")["expires"].as_i64().unwrap_or(0);
    assert_eq!(answer["reuse_until"], expires - 60_000);

    // Due within the lead: the answer comes refreshed (once).
    make_due(&plugin, "default");
    let answer = plugin.run(&["openclaw", "credentials"]).json();
    assert_eq!(answer["profiles"][0]["credential"]["access"], "acc-2");
    assert_eq!(mm.refresh_count(), 1);

    // Logging out a profile OpenClaw uses says what OpenClaw will do.
    let logout = plugin.run(&["logout"]);
    logout.expect_code(0);
    logout.stderr_has("OpenClaw's next turn will ask you to sign in");
    logout.stderr_has("openclaw setup --remove");
    let answer = plugin.run(&["openclaw", "credentials"]);
    answer.expect_code(0);
    let error = answer.json()["error"].as_str().unwrap_or("").to_string();
    assert!(error.contains("fix: minimax-portal-auth login"), "{error}");
}

#[test]
fn setup_dry_run_says_what_would_change_in_a_few_lines() {
    let (portal, _mm) = portal_and_model();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);

    let run = plugin.run(&["openclaw", "setup", "--dry-run", "--set-default"]);
    run.expect_code(0);
    run.stdout_has("Would install the OpenClaw plugin minimax-portal-keyring");
    run.stdout_has("the default model minimax-portal/MiniMax-M3");
    assert!(run.stdout.lines().count() <= 8, "{}", run.stdout);

    let exec = plugin.run(&[
        "openclaw",
        "setup",
        "--route",
        "exec",
        "--dry-run",
        "--set-default",
    ]);
    exec.expect_code(0);
    exec.stdout_has("secret provider minimax-portal-auth: runs `token --profile default`");
    exec.stdout_has(&format!(
        "model provider minimax-portal: {}/anthropic, 7 models",
        portal.url()
    ));
    exec.stdout_has("default model: minimax-portal/MiniMax-M3");
    exec.stderr_has("openclaw config patch --file");
    assert!(exec.stdout.lines().count() <= 8, "{}", exec.stdout);
    // The whole patch, for a program.
    let json = plugin.run(&[
        "openclaw",
        "setup",
        "--route",
        "exec",
        "--dry-run",
        "--json",
    ]);
    assert!(json.expect_code(0).json()["patch"]["secrets"].is_object());
}
