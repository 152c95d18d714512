//! Where a new user first lands (issue 16): a headless login on a small
//! terminal, the commands login suggests, what status and doctor say on a
//! box without a keyring or a network, the spellings people type, and the
//! words and exit codes of the everyday paths. Each test drives the binary
//! as a person would: on a pty for screens, through a shell for exec.

use crate::support::cli::{Plugin, Run, finish};
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{MiniMax, TOKEN_PATH, USER_CODE, VERIFICATION_URI, token_url};
use crate::support::profile::{seed, seed_default, stored, write_profile};
use crate::support::screen::{render, visible};
use crate::support::tty::{Tty, session};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// No line the program wrote is wider than the terminal (the terminal
/// would break it anywhere, mid-word). Carriage returns start a line
/// over; escape sequences take no room.
fn all_fit(raw: &str, cols: usize) {
    for line in raw.split('\n') {
        for segment in line.split('\r') {
            let shown = strip_escapes(segment);
            // A link has no space to break at: the terminal wraps it.
            if !shown.trim().contains(' ') {
                continue;
            }
            assert!(
                shown.chars().count() <= cols,
                "a line wider than {cols} columns:\n{shown}\n--\n{}",
                render(raw, cols)
            );
        }
    }
}

fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for next in chars.by_ref() {
                    if next.is_ascii_alphabetic() || next == '@' || next == '~' {
                        break;
                    }
                }
            }
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// Lines drawn only with the half blocks of a QR code.
fn qr_lines(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| "▀▄█ ".contains(c)))
        .count()
}

/// A login that waits for approval on a terminal of `rows` lines; the
/// screen while it waits (as written, and as shown), then Ctrl-C.
fn waiting_login(rows: u16) -> (String, String) {
    let (portal, _mm) = MiniMax::new().pending(10_000).start();
    let plugin = Plugin::new(&portal.url());
    // The test's environment has no DISPLAY: the QR code is asked for.
    let mut tty = Tty::spawn_sized(&plugin, &["login", "-r", "global"], (80, rows), "true");
    tty.wait_for("Waiting for approval", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let raw = session(&tty.screen()).to_string();
    let screen = visible(&raw, 80, usize::from(rows));
    tty.signal("INT");
    let (code, all) = tty.finish(Duration::from_secs(20));
    assert_eq!(code, 130, "{all}");
    (raw, screen)
}

#[test]
fn a_headless_login_on_80_by_24_keeps_the_qr_code_link_and_code_on_screen() {
    let (raw, screen) = waiting_login(24);
    all_fit(&raw, 80);
    assert!(screen.contains(VERIFICATION_URI), "no link:\n{screen}");
    let last = screen.lines().last().unwrap_or("");
    assert!(
        last.contains(USER_CODE),
        "the waiting line lacks the code:\n{screen}"
    );
    // The whole QR code: its light top margin is on screen too.
    let qr = qr_lines(&screen);
    assert!(qr >= 20, "the QR code is not whole ({qr} lines):\n{screen}");
    let first_qr = screen
        .lines()
        .find(|l| !l.is_empty() && l.chars().all(|c| "▀▄█ ".contains(c)))
        .unwrap_or("");
    assert!(first_qr.chars().all(|c| c == '█'), "{screen}");
}

#[test]
fn a_terminal_too_small_for_the_qr_code_says_how_to_see_it() {
    let (raw, screen) = waiting_login(16);
    all_fit(&raw, 80);
    assert_eq!(qr_lines(&screen), 0, "{screen}");
    assert!(screen.contains(VERIFICATION_URI), "{screen}");
    assert!(screen.contains(USER_CODE), "{screen}");
    assert!(screen.contains("No room for the QR code"), "{screen}");
    assert!(screen.contains("Make the window bigger"), "{screen}");
}

#[test]
fn login_with_a_profile_names_it_in_every_next_command() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&["-p", "work"]);
    run.expect_code(0);
    let next: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.contains("Next:"))
        .filter(|l| l.contains("minimax-portal-auth"))
        .collect();
    assert_eq!(next.len(), 3, "{}", run.stderr);
    for line in next {
        assert!(line.contains("--profile work"), "{line}");
    }
    // The default profile's lines stay short.
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    plugin
        .login(&[])
        .expect_code(0)
        .stderr_has("Next: minimax-portal-auth status\n")
        .stderr_lacks("--profile");
}

#[test]
fn status_check_tells_a_network_failure_from_a_rejected_grant() {
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-a", 3_600_000);
    // Nothing listens there: the check cannot reach MiniMax.
    plugin.set("MINIMAX_PORTAL_API_BASE_URL", "http://127.0.0.1:9");
    let run = plugin.run(&["status", "--check"]);
    run.expect_code(4)
        .stderr_has("check the network")
        .stderr_lacks("login")
        .stderr_lacks("the key");
    let first = run.stderr.lines().nth(1).unwrap_or("");
    assert!(first.contains("✓ Signed in"), "{}", run.stderr);

    // A rejected refresh token, found by the check: sign in again.
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-never-issued", 60_000);
    plugin
        .run(&["status", "--check"])
        .expect_code(1)
        .stderr_has("fix: minimax-portal-auth login --region global")
        .stderr_lacks("check the network");
}

#[test]
fn status_of_a_profile_that_must_sign_in_again_starts_with_the_cross() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed(
        &plugin,
        "work",
        &token_url(&portal),
        "ref-b",
        1_200_000,
        "cn",
    );
    let mut work = stored(&plugin, "work");
    work["needs_login"] = json!(true);
    write_profile(&plugin, "work", &serde_json::to_vec(&work).expect("JSON"));
    let run = plugin.run(&["status", "-p", "work"]);
    run.expect_code(1).stderr_lacks("✓ Signed in");
    let first = run.stderr.lines().nth(1).unwrap_or("");
    assert!(
        first.starts_with("  ✗ Must sign in again to MiniMax CN"),
        "{}",
        run.stderr
    );
    run.stderr_has("fix: minimax-portal-auth login --region cn --profile work");
}

#[test]
fn the_sign_in_again_message_names_the_profile_once_and_one_fix() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-never-issued", 0);
    let run = plugin.run(&["refresh"]);
    run.expect_code(3)
        .stderr_lacks("onboard")
        .stderr_lacks("host");
    let said = run
        .stderr
        .lines()
        .find(|l| l.contains("must sign in again"))
        .unwrap_or_else(|| panic!("no sign-in-again line:\n{}", run.stderr));
    assert_eq!(said.matches("minimax-portal:default").count(), 1, "{said}");
    assert_eq!(run.stderr.matches("fix:").count(), 1, "{}", run.stderr);
    run.stderr_has("fix: minimax-portal-auth login --region global\n");
}

/// The profiles folder as the tool makes it (the seeding made it 0755).
fn private(plugin: &Plugin) {
    use std::os::unix::fs::PermissionsExt;
    let dir = plugin.home().join("profiles");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    for file in std::fs::read_dir(&dir).expect("list").flatten() {
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
    }
}

/// A dead session bus: the keyring never answers.
struct NoKeyring {
    _dir: tempfile::TempDir,
    _listener: std::os::unix::net::UnixListener,
    address: String,
}

fn no_keyring() -> NoKeyring {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&bus).expect("bind");
    NoKeyring {
        address: format!("unix:path={}", bus.display()),
        _dir: dir,
        _listener: listener,
    }
}

/// A signed-in user (profile `default`, Global) on a box whose keyring
/// never answers, in store mode `store` ("" for none given).
struct Keyringless {
    plugin: Plugin,
    _portal: Portal,
    _bus: NoKeyring,
}

fn keyringless(store: &str) -> Keyringless {
    let bus = no_keyring();
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    plugin
        .set("MINIMAX_PORTAL_AUTH_STORE", store)
        .set("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .set("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "300");
    seed_default(&plugin, &portal.url(), "ref-a", 3_600_000);
    Keyringless {
        plugin,
        _portal: portal,
        _bus: bus,
    }
}

#[test]
fn doctor_passes_a_working_file_fallback_and_its_fix_lasts() {
    let mut setup = keyringless("auto");
    let plugin = &mut setup.plugin;
    private(plugin);
    let run = plugin.run(&["doctor"]);
    run.expect_code(0)
        .stdout_has("✓ keyring")
        .stdout_has("note: profiles are kept in 0600 files")
        .stdout_has("store = \"file\"")
        .stdout_lacks_export();

    // The note's fix, run as printed, chooses the files for good: doctor
    // then does not try the keyring at all.
    let fix_line = run
        .stdout
        .lines()
        .find(|l| l.contains("printf"))
        .map(|l| l[l.find("printf").unwrap_or(0)..].to_string())
        .expect("a printf fix");
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", &fix_line]);
    assert!(sh.status().expect("sh").success());
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "");
    let again = plugin.run(&["doctor", "--json"]);
    again.expect_code(0);
    let keyring = &again.json()["checks"][0];
    assert_eq!(keyring["status"], "skip", "{keyring:#}");
}

trait Lacks {
    fn stdout_lacks_export(&self) -> &Self;
}

impl Lacks for Run {
    fn stdout_lacks_export(&self) -> &Self {
        assert!(!self.stdout.contains("export "), "{self}");
        self
    }
}

#[test]
fn config_toml_chooses_the_store_and_unknown_keys_are_named() {
    let mut setup = keyringless("");
    let plugin = &mut setup.plugin;
    std::fs::write(
        plugin.home().join("config.toml"),
        "store = \"file\"\nstor = \"keyring\"\n",
    )
    .expect("write config.toml");
    let run = plugin.run(&["status", "--json"]);
    assert_eq!(run.json()["store_mode"], "file", "{run}");
    assert_eq!(run.stderr.matches("unknown setting").count(), 1, "{run}");
    run.stderr_has("unknown setting \"stor\"")
        .stderr_lacks("no OS keyring answered");
    // The flag and the variable still win over the file.
    let run = plugin.run(&["status", "--json", "--store", "auto"]);
    assert_eq!(run.json()["store_mode"], "auto", "{run}");
}

/// A portal whose first `failures` token polls answer HTTP 503.
fn failing_polls(failures: usize) -> (Portal, Arc<AtomicUsize>) {
    failing_polls_of(MiniMax::new(), failures)
}

fn failing_polls_of(mm: MiniMax, failures: usize) -> (Portal, Arc<AtomicUsize>) {
    let mm = mm.build();
    let polls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&polls);
    let portal = Portal::start(move |r| {
        if r.path == TOKEN_PATH
            && r.form()
                .get("grant_type")
                .is_some_and(|g| g.contains("user_code"))
            && seen.fetch_add(1, Ordering::SeqCst) < failures
        {
            return Reply::json(503, json!({"error": "temporarily_unavailable"}));
        }
        mm.handle(r)
    });
    (portal, polls)
}

#[test]
fn login_rides_out_a_failing_portal_while_the_code_lives() {
    // Three failures in a row ended the login before.
    let (portal, polls) = failing_polls(4);
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&[]);
    run.expect_code(0).stderr_has("Signed in");
    assert!(polls.load(Ordering::SeqCst) > 4);
    // Said before the first request was answered.
    assert!(
        run.stderr
            .trim_start()
            .starts_with("Asking MiniMax for a code…"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_portal_failing_until_the_code_expires_is_a_transient_failure() {
    let (portal, _polls) = failing_polls_of(
        MiniMax::new().code_expires_in(Duration::from_secs(5)),
        10_000,
    );
    let plugin = Plugin::new(&portal.url());
    plugin
        .login(&[])
        .expect_code(4)
        .stderr_has("could not confirm the login before the code expired")
        .stderr_has("fix: minimax-portal-auth login --region global");
}

#[test]
fn a_portal_that_fails_the_code_request_was_announced_first() {
    let portal = Portal::start(|_| Reply::json(503, json!({"error": "unavailable"})));
    let plugin = Plugin::new(&portal.url());
    let run = plugin.login(&[]);
    run.expect_code(4);
    let asked = run.stderr.find("Asking MiniMax for a code…");
    let failed = run.stderr.find("error:");
    assert!(asked.is_some() && asked < failed, "{}", run.stderr);
}

/// A 408 to the code request is the portal's passing trouble, as it is
/// for token answers: exit 4, not a refusal.
#[test]
fn a_408_to_the_code_request_is_transient() {
    let portal = Portal::start(|_| Reply::empty(408));
    let plugin = Plugin::new(&portal.url());
    plugin
        .login(&[])
        .expect_code(4)
        .stderr_has("unavailable (HTTP 408)");
}

#[test]
fn on_a_terminal_the_503_waiting_line_fits_80_columns() {
    let (portal, _polls) = failing_polls(10_000);
    let plugin = Plugin::new(&portal.url());
    let mut tty = Tty::spawn_sized(&plugin, &["login", "-r", "global"], (80, 40), "true");
    tty.wait_for("retrying", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    let raw = session(&tty.screen()).to_string();
    tty.signal("INT");
    let _ = tty.finish(Duration::from_secs(20));
    let screen = render(&raw, 80);
    all_fit(&raw, 80);
    let waiting: Vec<&str> = screen.lines().filter(|l| l.contains(USER_CODE)).collect();
    assert!(waiting.iter().any(|l| l.contains("retrying")), "{screen}");
    // One waiting line, not one per redraw.
    assert_eq!(
        screen.lines().filter(|l| l.contains("retrying")).count(),
        1,
        "{screen}"
    );
}

#[test]
fn regions_are_spelled_as_people_type_them() {
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    plugin
        .run(&["login", "-r", "CN", "--no-browser"])
        .expect_code(0);
    assert_eq!(stored(&plugin, "default")["region"], "cn");

    plugin.set("MINIMAX_PORTAL_REGION", "Global");
    plugin
        .run(&["login", "--no-browser", "-p", "env"])
        .expect_code(0);
    assert_eq!(stored(&plugin, "env")["region"], "global");

    plugin.set("MINIMAX_PORTAL_REGION", "europe");
    plugin
        .run(&["login", "--no-browser", "-p", "bad"])
        .expect_code(2)
        .stderr_has("MINIMAX_PORTAL_REGION=europe")
        .stderr_lacks("--region <");

    plugin
        .run(&["setup"])
        .expect_code(2)
        .stderr_has("'openclaw setup'")
        .stderr_lacks("'status'");
}

#[test]
fn exec_exits_as_a_shell_does_when_the_command_cannot_run() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-a", 3_600_000);
    // Not found (127) is in ux.rs; not executable is 126.
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").expect("write");
    plugin
        .run(&["exec", "--", &script.display().to_string()])
        .expect_code(126)
        .stderr_has("permission denied");
    // The store comes from the environment here: not a required flag.
    plugin
        .run(&["exec"])
        .expect_code(2)
        .stderr_has("Usage: minimax-portal-auth exec")
        .stderr_lacks("--store");
}

#[test]
fn help_and_man_show_what_exists_and_stay_aligned() {
    let plugin = Plugin::new("http://127.0.0.1:9");
    let man = plugin.run(&["man"]);
    man.expect_code(0);
    assert!(
        !man.stdout.contains("SUBCOMMANDS"),
        "pages that do not exist"
    );
    assert!(!man.stdout.contains("auth\\-login(1)"));
    for command in ["login", "status", "openclaw setup", "exec", "completions"] {
        let heading = format!(".SS \"minimax\\-portal\\-auth {command}");
        assert!(man.stdout.contains(&heading), "no {command} in the page");
    }
    assert!(man.stdout.contains(".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR"));

    let mut cmd = plugin.command(&["--help"]);
    cmd.env("COLUMNS", "80");
    let help = finish(cmd.spawn().expect("help"));
    let codes: Vec<&str> = help
        .stdout
        .lines()
        .skip_while(|l| *l != "Exit codes:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(codes.len(), 7, "one line per exit code:\n{}", help.stdout);
    for line in codes {
        assert_eq!(line.find(|c: char| c.is_alphabetic()), Some(7), "{line}");
    }

    let completions = plugin.run(&["completions", "--help"]);
    completions
        .expect_code(0)
        .stdout_lacks_flag("--json")
        .stdout_lacks_flag("--store");
    plugin
        .run(&["status", "--help"])
        .stdout_has("--json")
        .stdout_has("--store");
}

trait LacksFlag {
    fn stdout_lacks_flag(&self, flag: &str) -> &Self;
}

impl LacksFlag for Run {
    fn stdout_lacks_flag(&self, flag: &str) -> &Self {
        assert!(!self.stdout.contains(flag), "{flag} shown:\n{self}");
        self
    }
}

#[test]
fn one_vocabulary_and_notes_on_stderr() {
    let plugin = Plugin::new("http://127.0.0.1:9");
    let help = plugin.run(&["login", "-h"]);
    help.expect_code(0);
    assert!(!help.stdout.contains("with the browser"), "{}", help.stdout);
    let top = plugin.run(&["-h"]);
    top.stdout_has("Coding Plan");
    assert!(!top.stdout.contains("Token Plan"));

    // The browser flow names the region as the user-code flow does.
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    let mut tty = Tty::spawn_sized(
        &plugin,
        &["login", "-r", "global", "--flow", "browser", "--no-browser"],
        (80, 40),
        "true",
    );
    tty.wait_for("Waiting for the browser", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let raw = session(&tty.screen()).to_string();
    let screen = render(&raw, 80);
    tty.signal("INT");
    let _ = tty.finish(Duration::from_secs(20));
    assert!(screen.contains("MiniMax Global,"), "{screen}");
    // Wrapped at spaces, never mid-word: no line past 80 columns.
    all_fit(&raw, 80);
    assert!(screen.contains("Copy that page's whole"), "{screen}");

    // The keyring note of status goes to stderr, not with the result.
    let mut setup = keyringless("auto");
    let plugin = &mut setup.plugin;
    // The first run warns once; later runs note it.
    plugin.run(&["status"]).expect_code(0);
    let run = plugin.run(&["status"]);
    run.expect_code(0)
        .stderr_has("note: no OS keyring answered");
    assert!(!run.stdout.contains("note:"), "{run}");
}

#[test]
fn declining_to_replace_a_profile_exits_1_and_is_asked_on_one_line() {
    let (portal, mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let mut tty = Tty::spawn_sized(
        &plugin,
        &["login", "-r", "cn", "--no-browser"],
        (80, 40),
        "true",
    );
    tty.wait_for("[y/N]", Duration::from_secs(20));
    tty.type_keys(b"n");
    let (code, raw) = tty.finish(Duration::from_secs(10));
    assert_eq!(code, 1, "{raw}");
    let raw = session(&raw).to_string();
    let screen = render(&raw, 80);
    all_fit(&raw, 80);
    assert_eq!(screen.matches("Replace it").count(), 1, "{screen}");
    assert!(screen.contains("Kept the stored profile"), "{screen}");
    assert_eq!(mm.device_code_count(), 1);
}

#[test]
fn the_keyring_notice_wraps_at_spaces_on_a_terminal() {
    let mut setup = keyringless("auto");
    let plugin = &mut setup.plugin;
    let tty = Tty::spawn_sized(plugin, &["status"], (80, 40), "true");
    let (_, raw) = tty.finish(Duration::from_secs(30));
    let raw = session(&raw).to_string();
    let screen = render(&raw, 80);
    assert!(screen.contains("no OS keyring answered"), "{screen}");
    all_fit(&raw, 80);
}
