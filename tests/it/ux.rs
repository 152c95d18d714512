//! What people meet: exec and env, switch, logout --all, completions and
//! the man page, login with and without a terminal, the API-key route, and
//! the keyring fallback said once.

use crate::support::cli::{BIN, Plugin, finish};
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{MiniMax, USER_CODE, token_url};
use crate::support::profile::{seed, seed_default, stored};
use crate::support::tty::{Tty, modes_after};
use minimax_portal_auth::json;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn exec_gives_the_child_a_fresh_token_and_hands_on_its_exit_code() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    // Due: exec refreshes first.
    seed_default(&plugin, &portal.url(), "ref-seed", 60_000);
    let run = plugin.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"$ANTHROPIC_BASE_URL\"; echo \"$ANTHROPIC_AUTH_TOKEN\"; exit 7",
    ]);
    run.expect_code(7);
    assert_eq!(run.stdout, "https://api.minimax.io/anthropic\nacc-1\n");
    assert_eq!(mm.refresh_count(), 1);

    // stdin reaches the child.
    let mut child = plugin
        .command(&["exec", "--", "cat"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("exec cat");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"hello")
        .expect("write");
    finish(child).expect_code(0).stdout_has("hello");

    // A signal to the process reaches the command: it is the same process.
    let child = plugin.spawn(&["exec", "--", "sleep", "30"]);
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let run = finish(child);
    assert_eq!(run.code, -1, "ended by SIGTERM, not an exit code: {run:?}");

    // A command that is not there: a clear error, and 127 as from a shell.
    plugin
        .run(&["exec", "--", "no-such-command-here"])
        .expect_code(127)
        .stderr_has("no-such-command-here: command not found");
}

#[test]
fn env_prints_lines_a_shell_evaluates() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 3_600_000);
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "eval \"$('{BIN}' env)\"; echo \"$ANTHROPIC_AUTH_TOKEN $ANTHROPIC_BASE_URL\""
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    plugin.apply_env(&mut sh);
    let run = finish(sh.spawn().expect("sh"));
    assert_eq!(
        run.stdout, "acc-old https://api.minimax.io/anthropic\n",
        "{run:?}"
    );
    let fish = plugin.run(&["env", "--shell", "fish"]);
    fish.expect_code(0)
        .stdout_has("set -gx ANTHROPIC_AUTH_TOKEN 'acc-old'");
    let ps = plugin.run(&["env", "--shell", "powershell"]);
    ps.expect_code(0)
        .stdout_has("$env:ANTHROPIC_AUTH_TOKEN = 'acc-old'");
    let as_json = plugin.run(&["env", "--json"]);
    let vars = as_json.expect_code(0).json_as::<json::EnvOutput>();
    assert_eq!(vars["ANTHROPIC_AUTH_TOKEN"], "acc-old");
}

/// Two valid profiles: `default` (Global) and `work` (CN).
fn seed_two(plugin: &Plugin, portal: &Portal) {
    seed_default(plugin, &portal.url(), "ref-a", 3_600_000);
    seed(plugin, "work", &token_url(portal), "ref-b", 3_600_000, "cn");
}

#[test]
fn switch_and_the_environment_choose_the_default_profile() {
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    seed_two(&plugin, &portal);
    let mut work = stored(&plugin, "work");
    work["access"] = json!("acc-work");
    crate::support::profile::write_profile(
        &plugin,
        "work",
        &serde_json::to_vec(&work).expect("JSON"),
    );

    plugin
        .run(&["switch", "work"])
        .expect_code(0)
        .stdout_has("minimax-portal:work");
    assert_eq!(plugin.run(&["token"]).stdout, "acc-work\n");
    let status = plugin.run(&["status", "--json"]);
    let rows = status.json()["profiles"].clone();
    let default_row = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["default"] == true)
        .cloned()
        .expect("a default row");
    assert_eq!(default_row["name"], "work");
    let chosen = plugin.run(&["switch", "work", "--json"]);
    let chosen = chosen.expect_code(0).json_as::<json::SwitchOutput>();
    assert_eq!(chosen["default_profile"], "work");
    plugin.set("MINIMAX_PORTAL_AUTH_PROFILE", "default");
    assert_eq!(plugin.run(&["token"]).stdout, "acc-old\n");

    // No such profile: the ones there are are named.
    plugin
        .run(&["switch", "personal"])
        .expect_code(3)
        .stderr_has("the profiles there are: default, work");
    plugin
        .run(&["token", "-p", "personal"])
        .expect_code(3)
        .stderr_has("default, work");
}

#[test]
fn logout_all_removes_every_profile() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed_two(&plugin, &portal);
    let run = plugin.run(&["logout", "--all", "--json"]);
    run.expect_code(0);
    let out = run.json_as::<json::LogoutAllOutput>();
    assert_eq!(out["profiles"].as_array().map(Vec::len), Some(2));
    plugin
        .run(&["status"])
        .expect_code(1)
        .stderr_has("not signed in");
}

#[test]
fn completions_and_the_man_page() {
    let plugin = Plugin::new("http://127.0.0.1:9");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        plugin
            .run(&["completions", shell])
            .expect_code(0)
            .stdout_has("minimax-portal-auth");
    }
    let man = plugin.run(&["man"]);
    man.expect_code(0).stdout_has(".TH minimax-portal-auth");
    man.stdout_has("MINIMAX_PORTAL_AUTH_LOCK_TIMEOUT_MS");
}

#[test]
fn the_help_lists_every_environment_variable_and_fits_80_columns() {
    let plugin = Plugin::new("http://127.0.0.1:9");
    let mut cmd = plugin.command(&["--help"]);
    cmd.env("COLUMNS", "80");
    let help = finish(cmd.spawn().expect("help"));
    help.expect_code(0);
    let contract = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/host-contract.md"
    ))
    .expect("docs/host-contract.md");
    for line in contract
        .lines()
        .filter(|l| l.starts_with("| `MINIMAX_PORTAL"))
    {
        let var = line.split('`').nth(1).expect("a variable");
        help.stdout_has(var);
    }
    assert!(
        help.stdout.lines().all(|l| l.chars().count() <= 80),
        "{}",
        help.stdout
    );
}

#[test]
fn login_without_a_terminal_names_the_region_flag_and_says_what_it_replaces() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    plugin
        .run(&["login", "--no-browser"])
        .expect_code(2)
        .stderr_has("fix: minimax-portal-auth login --region global");
    let first = plugin.login(&[]);
    first
        .expect_code(0)
        .stderr_has("Waiting for approval of code TUE3-FXNG (expires in 9 min")
        .stderr_has("it refreshes automatically");
    // One line, not a spinner's frames.
    assert_eq!(first.stderr.matches("Waiting for approval").count(), 1);
    let again = plugin.run(&["login", "--region", "cn", "--no-browser", "--qr"]);
    again
        .expect_code(0)
        .stderr_has(
            "note: replacing the stored profile minimax-portal:default (Global, Global → CN)",
        )
        .stderr_has("scan this QR code with a phone");
    assert_eq!(stored(&plugin, "default")["region"], "cn");
}

#[test]
fn an_expired_code_without_a_terminal_says_the_exact_command() {
    let (portal, _mm) = MiniMax::new()
        .pending(1000)
        .code_expires_in(Duration::from_secs(3))
        .start();
    let plugin = Plugin::new(&portal.url());
    plugin
        .run(&["login", "-r", "cn", "-p", "work", "--no-browser"])
        .expect_code(1)
        .stderr_has("fix: minimax-portal-auth login --region cn --profile work");
}

#[test]
fn on_a_terminal_an_expired_code_offers_a_new_one() {
    // Polls at 0 s and 2 s are pending; the code dies at 3 s.
    let (portal, mm) = MiniMax::new()
        .pending(2)
        .code_expires_in(Duration::from_secs(3))
        .start();
    let plugin = Plugin::new(&portal.url());
    let mut tty = Tty::spawn(&plugin, &["login", "-r", "global", "--no-browser"], 80);
    tty.wait_for("Press Enter for a new code", Duration::from_secs(20));
    // The fake approves the next code at once.
    tty.type_keys(b"\r");
    let (code, screen) = tty.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{screen}");
    assert_eq!(mm.device_code_count(), 2);
    assert!(screen.contains(USER_CODE), "{screen}");
}

#[test]
fn on_a_terminal_replacing_a_working_profile_is_asked_first() {
    let (portal, mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let before = stored(&plugin, "default");
    let mut tty = Tty::spawn(&plugin, &["login", "-r", "cn", "--no-browser"], 80);
    tty.wait_for("Replace it, Global → CN?", Duration::from_secs(20));
    tty.type_keys(b"n");
    let (code, screen) = tty.finish(Duration::from_secs(10));
    // A "no" is an answer, not a Ctrl-C.
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Kept the stored profile"), "{screen}");
    assert_eq!(stored(&plugin, "default"), before);
    assert_eq!(mm.device_code_count(), 1, "no second sign-in started");
    assert!(modes_after(&screen).contains(" echo "), "{screen}");
}

/// A portal whose usage endpoint takes one API key and refuses others.
fn portal_for_keys() -> Portal {
    Portal::start(|r| match r.bearer() {
        Some("sk-good-0123456789") => Reply::json(200, json!({"model_remains": []})),
        _ => Reply::json(
            401,
            json!({"base_resp": {"status_code": 1004, "status_msg": "invalid api key"}}),
        ),
    })
}

#[test]
fn a_refused_api_key_is_stored_nowhere() {
    let portal = portal_for_keys();
    let plugin = Plugin::new(&portal.url());
    plugin
        .run_with_stdin(
            &["login", "-r", "global", "--with-api-key"],
            b"sk-bad-0123456789\n",
        )
        .expect_code(1)
        .stderr_has("refused this API key");
    let status = plugin.run(&["status", "--json"]);
    assert_eq!(status.json()["api_keys"], json!([]));
    plugin
        .run_with_stdin(
            &["login", "-r", "global", "--with-api-key"],
            b"sk-good-0123456789\n",
        )
        .expect_code(0)
        .stderr_has("Saved the MiniMax API key as minimax:default");
}

#[test]
fn on_a_terminal_a_bad_paste_is_asked_again_with_the_reason() {
    let portal = portal_for_keys();
    let plugin = Plugin::new(&portal.url());
    let mut tty = Tty::spawn(&plugin, &["login", "-r", "global", "--with-api-key"], 80);
    tty.wait_for("API key", Duration::from_secs(20));
    tty.type_keys(b"short\r");
    tty.wait_for("only 5 characters long", Duration::from_secs(10));
    tty.type_keys(b"sk-good-0123456789\r");
    let (code, screen) = tty.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("sk-good"), "the key was echoed: {screen}");
}

#[test]
fn the_keyring_fallback_is_said_once_and_never_by_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus = dir.path().join("bus");
    let _listener = std::os::unix::net::UnixListener::bind(&bus).expect("bind");
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    plugin
        .set("MINIMAX_PORTAL_AUTH_STORE", "auto")
        .set(
            "DBUS_SESSION_BUS_ADDRESS",
            &format!("unix:path={}", bus.display()),
        )
        .set("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "300");
    let token_first = {
        seed_default(&plugin, &portal.url(), "ref-a", 3_600_000);
        plugin.run(&["token"])
    };
    token_first.expect_code(0).stderr_lacks("warning");
    let first = plugin.run(&["status"]);
    first
        .expect_code(0)
        .stderr_has("warning: no OS keyring answered");
    assert!(first.stderr.lines().count() <= 2, "{}", first.stderr);
    let second = plugin.run(&["status"]);
    second.expect_code(0).stderr_lacks("warning");
    // status still says where the profiles are.
    second.stdout_has("file ");
}
