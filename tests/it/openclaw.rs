//! The real OpenClaw (2026.9.6, from the npm registry) keeps its MiniMax
//! session alive through `openclaw setup`: every OpenClaw process gets our
//! fresh token, eight at once cause one refresh, a Gateway gets the new
//! token from the watcher, every catalog id passes OpenClaw's model check,
//! and the Secret Service store works through OpenClaw's passEnv.

use crate::support::cli::{Plugin, Run, finish};
use crate::support::http_server::Portal;
use crate::support::minimax::{MiniMax, MiniMaxState};
use crate::support::openclaw::{self, IsolatedOpenClaw, last_credentials, model_reply};
use crate::support::profile::{stored, write_profile};
use crate::support::{self, now_ms};
use minimax_portal_auth::json;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One local server that is both the MiniMax portal and the model API
/// (the profile's base URL is `{portal}/anthropic`).
pub(crate) fn portal_and_model() -> (Portal, Arc<MiniMaxState>) {
    let mm = MiniMax::new()
        .refresh_delay(Duration::from_millis(300))
        .build();
    let state = Arc::clone(&mm);
    let portal = Portal::start(move |r| model_reply(r).unwrap_or_else(|| state.handle(r)));
    (portal, mm)
}

/// The usual start: signed in with the file store, and an isolated
/// OpenClaw told to use that store too.
fn signed_in_beside_openclaw(
    program: &Path,
) -> (Portal, Arc<MiniMaxState>, Plugin, IsolatedOpenClaw) {
    let (portal, mm) = portal_and_model();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let mut oc = IsolatedOpenClaw::new(program);
    oc.set("MINIMAX_PORTAL_AUTH_STORE", "file");
    (portal, mm, plugin, oc)
}

/// Makes the stored profile due: an hour old, a minute left.
pub(crate) fn make_due(plugin: &Plugin, name: &str) {
    let mut profile = stored(plugin, name);
    profile["expires"] = json!(now_ms() as i64 + 60_000);
    profile["updated_at"] = json!(now_ms() as i64 - 3_600_000);
    write_profile(plugin, name, &serde_json::to_vec(&profile).expect("JSON"));
}

/// One turn of the agent `main` (`--local`: in this process, not the
/// Gateway), whatever its exit code.
pub(crate) fn turn(oc: &IsolatedOpenClaw, plugin: &Plugin, local: bool) -> Run {
    let mut args = vec!["agent"];
    if local {
        args.push("--local");
    }
    args.extend(["--agent", "main", "--message", "ping", "--json"]);
    oc.run(plugin, &args)
}

fn agent_turn(oc: &IsolatedOpenClaw, plugin: &Plugin, local: bool) -> Run {
    let run = turn(oc, plugin, local);
    run.expect_code(0);
    run
}

fn bearer(portal: &Portal) -> String {
    last_credentials(portal)
        .map(|(auth, _)| auth)
        .unwrap_or_default()
}

pub(crate) fn setup_args<'a>(program: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "openclaw",
        "setup",
        "--route",
        "exec",
        "--openclaw",
        program.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn openclaw_sends_our_fresh_token_and_eight_processes_refresh_once() {
    let Some(program) = openclaw::command() else {
        return;
    };
    let _turn = openclaw::one_at_a_time();
    let (portal, mm, plugin, oc) = signed_in_beside_openclaw(&program);

    // OpenClaw's own stored credential for the provider is reported.
    let mut paste = oc.command(
        &plugin,
        &[
            "models",
            "auth",
            "paste-token",
            "--provider",
            "minimax-portal",
            "--profile-id",
            "minimax-portal:default",
        ],
    );
    let mut child = paste.stdin(Stdio::piped()).spawn().expect("paste-token");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"st-pasted-token-0123456789\n")
        .expect("write the token");
    finish(child).expect_code(0);

    let setup = oc.plugin_run(&plugin, &setup_args(&program, &["--set-default", "--json"]));
    setup.expect_code(0);
    assert_eq!(setup.json()["applied"], true);
    setup.stderr_has("fix: openclaw models auth logout minimax-portal:default --yes");
    let config = oc.config();
    let exec = &config["secrets"]["providers"]["minimax-portal-auth"];
    assert_eq!(exec["args"], json!(["token", "--profile", "default"]));
    assert_eq!(
        config["models"]["providers"]["minimax-portal"]["apiKey"]["id"],
        "minimax-portal:default"
    );
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        "minimax-portal/MiniMax-M3"
    );

    // Twice changes nothing; --service writes the watcher's unit.
    let before = std::fs::read(oc.config_path()).expect("config");
    let units = tempfile::tempdir().expect("temp dir");
    let mut service = plugin.command(&setup_args(
        &program,
        &["--set-default", "--service", "--json"],
    ));
    oc.apply_env(&mut service, &plugin);
    service.env("XDG_CONFIG_HOME", units.path());
    let again = finish(service.spawn().expect("setup again"));
    again.expect_code(0);
    assert_eq!(again.json()["already"], true);
    assert_eq!(std::fs::read(oc.config_path()).expect("config"), before);
    let unit = std::fs::read_to_string(
        units
            .path()
            .join("systemd/user/minimax-portal-auth-watch.service"),
    )
    .expect("the unit file");
    assert!(
        unit.contains("\"refresh\" \"--watch\" \"--all\" \"--then\""),
        "{unit}"
    );
    assert!(unit.contains("\"secrets\" \"reload\""), "{unit}");
    assert!(unit.contains("RestartPreventExitStatus=3"), "{unit}");
    oc.run(&plugin, &["config", "validate", "--json"])
        .expect_code(0);

    // A turn carries exactly our access token, as MiniMax wants it.
    agent_turn(&oc, &plugin, true);
    assert_eq!(
        last_credentials(&portal),
        Some(("Bearer acc-1".to_string(), "acc-1".to_string()))
    );

    // Due: the next OpenClaw process gets the refreshed token.
    make_due(&plugin, "default");
    agent_turn(&oc, &plugin, true);
    assert_eq!(bearer(&portal), "Bearer acc-2");
    assert_eq!(mm.refresh_count(), 1);

    // Eight OpenClaw processes at once on a due profile: one refresh.
    make_due(&plugin, "default");
    let children: Vec<_> = (0..8)
        .map(|_| {
            oc.command(&plugin, &["models", "status", "--json"])
                .spawn()
                .expect("models status")
        })
        .collect();
    for run in children.into_iter().map(finish) {
        run.expect_code(0);
    }
    assert_eq!(mm.refresh_count(), 2, "eight processes, one refresh");

    // And out again.
    let removed = oc.plugin_run(&plugin, &setup_args(&program, &["--remove", "--json"]));
    removed.expect_code(0);
    assert_eq!(removed.json()["removed"], true);
    let config = oc.config();
    assert!(
        config.pointer("/models/providers/minimax-portal").is_none(),
        "{config}"
    );
    assert!(
        config
            .pointer("/secrets/providers/minimax-portal-auth")
            .is_none(),
        "{config}"
    );
    oc.run(&plugin, &["config", "validate", "--json"])
        .expect_code(0);
}

#[test]
fn a_gateway_gets_the_refreshed_token_from_the_watcher() {
    let Some(program) = openclaw::command() else {
        return;
    };
    let _turn = openclaw::one_at_a_time();
    let (portal, mm, plugin, mut oc) = signed_in_beside_openclaw(&program);
    oc.plugin_run(&plugin, &setup_args(&program, &["--set-default"]))
        .expect_code(0);
    let gateway = oc.start_gateway(&plugin, openclaw::free_port());
    agent_turn(&oc, &plugin, false);
    assert_eq!(bearer(&portal), "Bearer acc-1");

    // The token falls due; the watcher refreshes it and reloads the Gateway.
    make_due(&plugin, "default");
    let mut watch = plugin.command(&[
        "refresh",
        "--watch",
        "--json",
        "--then",
        program.to_str().expect("utf-8"),
        "secrets",
        "reload",
    ]);
    oc.apply_env(&mut watch, &plugin);
    let mut watcher = watch.spawn().expect("start the watcher");
    let lines = BufReader::new(watcher.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let refreshed = loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) if line.contains("\"refreshed\"") => break line,
            _ => assert!(
                started.elapsed() < Duration::from_secs(90),
                "the watcher did not refresh and reload within 90 s"
            ),
        }
    };
    assert!(refreshed.contains("\"then_ok\":true"), "{refreshed}");
    assert_eq!(mm.refresh_count(), 1);

    agent_turn(&oc, &plugin, false);
    assert_eq!(bearer(&portal), "Bearer acc-2", "the Gateway's next turn");

    // SIGTERM: exit 0, the profile intact.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &watcher.id().to_string()])
        .status();
    let status = watcher.wait().expect("the watcher ends");
    assert_eq!(status.code(), Some(0));
    assert_eq!(stored(&plugin, "default")["access"], "acc-2");
    assert_eq!(gateway.stop(), Some(0));
}

#[test]
fn every_catalog_model_passes_openclaws_unknown_model_check() {
    let Some(program) = openclaw::command() else {
        return;
    };
    let _turn = openclaw::one_at_a_time();
    let (_portal, _mm, plugin, oc) = signed_in_beside_openclaw(&program);
    // OpenClaw skips the check for a loopback base URL: use the real one.
    let mut profile = stored(&plugin, "default");
    profile["base_url"] = json!("https://api.minimax.io/anthropic");
    write_profile(
        &plugin,
        "default",
        &serde_json::to_vec(&profile).expect("JSON"),
    );
    oc.plugin_run(&plugin, &setup_args(&program, &[]))
        .expect_code(0);

    let manifest: toml::Value = toml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin.toml"))
            .expect("plugin.toml"),
    )
    .expect("plugin.toml is TOML");
    let ids: Vec<String> = manifest["models"]["catalog"]
        .as_array()
        .expect("a catalog")
        .iter()
        .map(|m| m["id"].as_str().expect("an id").to_string())
        .collect();
    assert!(ids.len() >= 7, "{ids:?}");
    for id in ids.iter().map(String::as_str).chain(["MiniMax-M9"]) {
        let reference = format!("minimax-portal/{id}");
        let run = oc.run(
            &plugin,
            &["config", "set", "agents.defaults.model.primary", &reference],
        );
        if id == "MiniMax-M9" {
            run.expect_code(1).stderr_has("Unknown model");
        } else {
            run.expect_code(0);
        }
    }
}

#[test]
fn the_secret_service_store_reaches_openclaw_through_pass_env() {
    let Some(program) = openclaw::command() else {
        return;
    };
    if !support::real_keyring() {
        return;
    }
    let _turn = openclaw::one_at_a_time();
    let (portal, _mm) = portal_and_model();
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    let name = format!("oc{}", std::process::id());
    plugin.login(&["--profile", &name]).expect_code(0);
    let mut oc = IsolatedOpenClaw::new(&program);
    oc.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    // Another profile: its own provider, made the default model.
    let setup = oc.plugin_run(
        &plugin,
        &setup_args(&program, &["--profile", &name, "--set-default", "--json"]),
    );
    setup.expect_code(0);
    let provider = format!("minimax-portal-{name}");
    assert_eq!(setup.json()["provider"], provider.as_str());
    let exec = &oc.config()["secrets"]["providers"][format!("minimax-portal-auth-{name}")];
    assert!(
        exec["passEnv"]
            .as_array()
            .expect("passEnv")
            .contains(&json!("DBUS_SESSION_BUS_ADDRESS")),
        "{exec}"
    );
    agent_turn(&oc, &plugin, true);
    assert_eq!(bearer(&portal), "Bearer acc-1");
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

/// The binary's path must be one OpenClaw will run: these need no OpenClaw.
#[cfg(unix)]
#[test]
fn setup_refuses_a_binary_openclaw_would_refuse_and_uses_the_real_path() {
    use std::os::unix::fs::PermissionsExt;
    let (portal, _mm) = portal_and_model();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("minimax-portal-auth");
    std::fs::copy(crate::support::cli::BIN, &copy).expect("copy the binary");
    let run_copy = |program: &Path| {
        finish(
            plugin
                .command_for(
                    program,
                    &[
                        "openclaw",
                        "setup",
                        "--route",
                        "exec",
                        "--dry-run",
                        "--json",
                    ],
                )
                .spawn()
                .expect("run the copy"),
        )
    };
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    run_copy(&copy).expect_code(1).stderr_has("fix: chmod go-w");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    // Through a symlink: the patch names the real file.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&copy, &link).expect("symlink");
    let run = run_copy(&link);
    run.expect_code(0);
    let real = std::fs::canonicalize(&copy).expect("real path");
    assert_eq!(
        run.json()["patch"]["secrets"]["providers"]["minimax-portal-auth"]["command"],
        real.to_str().expect("utf-8")
    );

    // Another user's file.
    if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
    {
        assert!(
            Command::new("chown")
                .args(["65534", copy.to_str().expect("utf-8")])
                .status()
                .expect("chown")
                .success()
        );
        run_copy(&copy)
            .expect_code(1)
            .stderr_has("belongs to user id 65534");
    }
}

#[test]
fn two_profiles_in_two_regions_get_two_providers() {
    let (global, _g) = portal_and_model();
    let (cn, _c) = portal_and_model();
    let mut plugin = Plugin::new(&global.url());
    plugin.login(&[]).expect_code(0);
    plugin
        .set("MINIMAX_PORTAL_OAUTH_BASE_URL", &cn.url())
        .set("MINIMAX_PORTAL_API_BASE_URL", &cn.url());
    plugin
        .run(&[
            "login",
            "--region",
            "cn",
            "--no-browser",
            "--profile",
            "work",
        ])
        .expect_code(0);
    let default = plugin.run(&[
        "openclaw",
        "setup",
        "--route",
        "exec",
        "--dry-run",
        "--json",
    ]);
    let work = plugin.run(&[
        "openclaw",
        "setup",
        "--route",
        "exec",
        "--dry-run",
        "--json",
        "--profile",
        "work",
    ]);
    let providers = |run: &Run| {
        let plan = run.expect_code(0).json_as::<json::OpenclawPlanOutput>();
        plan["patch"]["models"]["providers"].clone()
    };
    assert_eq!(
        providers(&default)["minimax-portal"]["baseUrl"],
        format!("{}/anthropic", global.url()).as_str()
    );
    assert_eq!(
        providers(&work)["minimax-portal-work"]["baseUrl"],
        format!("{}/anthropic", cn.url()).as_str()
    );
    work.stderr_has("openclaw config patch --file");
}
