//! The screens in docs/screens.md are the binary's: each is produced here
//! at 80 columns and compared with the page (`UPDATE_SCREENS=1` rewrites
//! it). Paths, times and durations that differ from run to run are put in
//! one form first.

use crate::support::cli::{Plugin, Run, finish};
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{MiniMax, token_url};
use crate::support::now_ms;
use crate::support::profile::{seed, seed_default, stored, write_profile};
use crate::support::screen::{render, still, visible};
use crate::support::tty::{Tty, session};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screens.md");
const INTRO: &str = "# What the tool shows

Captured from the binary at 80 columns by `tests/it/screens.rs`, which fails
when a screen here no longer matches (`UPDATE_SCREENS=1 cargo test --test it
screens` rewrites this page). The portal is the tests' local one, so its
link and times are the tests'; paths are shown as on a Linux machine.
";

/// A token that lives 3 h 12 min more (plus a margin, so it reads the same
/// for the seconds the run takes).
const THREE_HOURS_TWELVE: i64 = (3 * 60 + 12) * 60_000 + 30_000;

/// The state folder as the page shows it.
const SHOWN_HOME: &str = "~/.local/state/minimax-portal-auth";

/// A plugin whose state folder's path is as long as `SHOWN_HOME`, so that
/// putting one for the other keeps every line's length (and where the
/// binary broke it to fit 80 columns).
fn plugin(portal: &Portal) -> Plugin {
    let prefix = format!("mpa-screens-{}-", std::process::id());
    let pad = SHOWN_HOME.len() - "/tmp/".len() - prefix.len() - 6;
    let home = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}", "x".repeat(pad)))
        .tempdir_in("/tmp")
        .expect("temp dir");
    assert_eq!(home.path().display().to_string().len(), SHOWN_HOME.len());
    Plugin::in_home(&portal.url(), home)
}

fn tidy(plugin: &Plugin, text: &str) -> String {
    let mut text = text.replace(&plugin.home().display().to_string(), SHOWN_HOME);
    let shapes = [
        ("in # ms", "in 40 ms"),
        ("9999-99-99 99:99 ±99:99", "2026-11-26 14:00 +00:00"),
        ("expires in # min", "expires in 9 min"),
        ("127.0.0.1:#", "127.0.0.1:8080"),
    ];
    for (shape, with) in shapes {
        text = replace_shaped(&text, shape, with);
    }
    text.trim_end().to_string()
}

/// Replaces every run of text of a shape: `9` is a digit, `#` one or more
/// digits, `±` a sign, anything else itself.
fn replace_shaped(text: &str, shape: &str, with: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let shape: Vec<char> = shape.chars().collect();
    let end_of_match = |start: usize| -> Option<usize> {
        let mut i = start;
        for want in &shape {
            let got = *chars.get(i)?;
            match want {
                '9' if got.is_ascii_digit() => i += 1,
                '±' if got == '+' || got == '-' => i += 1,
                '#' if got.is_ascii_digit() => {
                    while chars.get(i).is_some_and(char::is_ascii_digit) {
                        i += 1;
                    }
                }
                literal if *literal == got && !"9#±".contains(*literal) => i += 1,
                _ => return None,
            }
        }
        Some(i)
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match end_of_match(i) {
            Some(end) => {
                out.push_str(with);
                i = end;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// The profiles folder as the tool makes it (the seeding made it 0755).
fn private(plugin: &Plugin) {
    use std::os::unix::fs::PermissionsExt;
    let dir = plugin.home().join("profiles");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

fn out(run: &Run) -> &str {
    if run.stdout.is_empty() {
        &run.stderr
    } else {
        &run.stdout
    }
}

/// A portal that also serves the usage endpoint (`token_plan/remains`).
fn portal_with_usage() -> Portal {
    let mm = MiniMax::new().build();
    Portal::start(move |r| {
        if r.path == "/v1/token_plan/remains" {
            // Resets half a minute inside "3 h 19 min", not on its edge: at
            // exactly 3 h 20 min the shown minute depended on a few ms of
            // clock (seen once in CI).
            let now = now_ms() as i64;
            let resets = now + 12_000_000 - 30_000;
            return Reply::json(
                200,
                json!({"model_remains": [
                    {"model_name": "MiniMax-M3", "end_time": resets,
                     "current_interval_total_count": 1500, "current_interval_usage_count": 1200,
                     "current_weekly_total_count": 15000, "current_weekly_usage_count": 13400,
                     "weekly_end_time": now + 400_000_000},
                    {"model_name": "MiniMax-M2.7", "end_time": resets,
                     "current_interval_total_count": 1500, "current_interval_usage_count": 300}],
                 "base_resp": {"status_code": 0, "status_msg": "success"}}),
            );
        }
        mm.handle(r)
    })
}

/// A login on an 80 × 24 terminal without a display: the screen while it
/// waits (the QR code, the link and the code all on it), and the whole
/// session once approved.
fn login_on_a_terminal() -> (String, String) {
    let (portal, _mm) = MiniMax::new().pending(3).start();
    let plugin = plugin(&portal);
    // No echo: an Enter typed before the prompt takes the terminal (a busy
    // machine) must not add a line to the screen.
    let mut tty = Tty::spawn_sized(&plugin, &["login", "--no-browser"], (80, 24), "stty -echo");
    tty.wait_for("Which MiniMax region", Duration::from_secs(20));
    tty.type_keys(b"\r");
    tty.wait_for("Waiting for approval", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let waiting = tidy(&plugin, session(&tty.screen()));
    let (code, raw) = tty.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{raw}");
    // Paths are put in their shown form first: the terminal then wraps
    // the lines as it would there.
    let shown = tidy(&plugin, session(&raw));
    let command = "$ minimax-portal-auth login --no-browser";
    (
        still(&visible(&format!("{command}\n{waiting}"), 80, 24)),
        format!("{command}\n{}", render(&shown, 80)),
    )
}

fn shots() -> Vec<(&'static str, String)> {
    let mut shots = Vec::new();
    let (waiting, whole) = login_on_a_terminal();
    shots.push((
        "login on an 80 × 24 terminal without a display, while it waits",
        waiting,
    ));
    shots.push((
        "login, on a terminal (a remote one: no browser, a QR code)",
        whole,
    ));

    let (portal, _mm) = MiniMax::new().start();
    let quiet = plugin(&portal);
    let run = quiet.run(&["login", "--region", "global", "--no-browser"]);
    shots.push((
        "login, without a terminal",
        format!(
            "$ minimax-portal-auth login --region global --no-browser\n{}",
            tidy(&quiet, &run.stderr)
        ),
    ));

    let empty = plugin(&portal);
    let run = empty.run(&["status"]);
    shots.push((
        "status, not signed in (exit 1)",
        format!("$ minimax-portal-auth status\n{}", tidy(&empty, out(&run))),
    ));

    let one = plugin(&portal);
    seed_default(&one, &portal.url(), "ref-a", THREE_HOURS_TWELVE);
    private(&one);
    let run = one.run(&["status"]);
    shots.push((
        "status, one profile",
        format!("$ minimax-portal-auth status\n{}", tidy(&one, out(&run))),
    ));

    seed(
        &one,
        "work",
        &token_url(&portal),
        "ref-b",
        20 * 60_000 + 30_000,
        "cn",
    );
    let mut work = stored(&one, "work");
    work["needs_login"] = json!(true);
    write_profile(&one, "work", &serde_json::to_vec(&work).expect("JSON"));
    let run = one.run(&["status"]);
    shots.push((
        "status, two profiles, one that needs a new login (exit 1)",
        format!("$ minimax-portal-auth status\n{}", tidy(&one, out(&run))),
    ));

    let expired = plugin(&portal);
    seed_default(&expired, &portal.url(), "ref-a", -(5 * 60_000 + 30_000));
    let run = expired.run(&["status"]);
    shots.push((
        "status, an expired access token (it refreshes on next use)",
        format!(
            "$ minimax-portal-auth status\n{}",
            tidy(&expired, out(&run))
        ),
    ));

    let usage_portal = portal_with_usage();
    let usage = plugin(&usage_portal);
    seed_default(&usage, &usage_portal.url(), "ref-a", THREE_HOURS_TWELVE);
    let mut profile = stored(&usage, "default");
    profile["base_url"] = json!(format!("{}/anthropic", usage_portal.url()));
    write_profile(
        &usage,
        "default",
        &serde_json::to_vec(&profile).expect("JSON"),
    );
    let run = usage.run(&["usage"]);
    shots.push((
        "usage",
        format!("$ minimax-portal-auth usage\n{}", tidy(&usage, out(&run))),
    ));

    let run = one.run(&["doctor"]);
    shots.push((
        "doctor (with the profile that needs a new login)",
        format!("$ minimax-portal-auth doctor\n{}", tidy(&one, out(&run))),
    ));

    let run = usage.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"ANTHROPIC_BASE_URL=$ANTHROPIC_BASE_URL\"; echo \"ANTHROPIC_AUTH_TOKEN has ${#ANTHROPIC_AUTH_TOKEN} characters\"",
    ]);
    shots.push((
        "exec (here the command prints what it got)",
        format!(
            "$ minimax-portal-auth exec -- sh -c 'echo \"ANTHROPIC_BASE_URL=$ANTHROPIC_BASE_URL\"; ...'\n{}",
            tidy(&usage, out(&run))
        ),
    ));

    let mut help = quiet.command(&["--help"]);
    help.env("COLUMNS", "80")
        .env_remove("MINIMAX_PORTAL_AUTH_STORE");
    let run = finish(help.spawn().expect("help"));
    shots.push((
        "--help",
        format!(
            "$ minimax-portal-auth --help\n{}",
            tidy(&quiet, &run.stdout)
        ),
    ));
    shots
}

fn page(shots: &[(&str, String)]) -> String {
    let mut text = String::from(INTRO);
    for (title, shot) in shots {
        text.push_str(&format!("\n## {title}\n\n```text\n{shot}\n```\n"));
    }
    text
}

#[test]
fn the_screens_in_docs_match_the_binary() {
    let shots = shots();
    let wanted = page(&shots);
    if std::env::var_os("UPDATE_SCREENS").is_some() {
        std::fs::write(PAGE, &wanted).expect("write docs/screens.md");
        return;
    }
    let current = std::fs::read_to_string(Path::new(PAGE)).unwrap_or_default();
    for (title, shot) in &shots {
        let block = format!("## {title}\n\n```text\n{shot}\n```\n");
        assert!(
            current.contains(&block),
            "docs/screens.md does not show what the binary shows for \"{title}\" \
             (UPDATE_SCREENS=1 rewrites it); the binary shows:\n{shot}"
        );
    }
    assert_eq!(
        current, wanted,
        "docs/screens.md has other sections than the test makes"
    );
}
