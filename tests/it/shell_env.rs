//! `env --shell …` read by the real shells: whatever the value, each shell
//! gets back exactly it, and a hostile portal runs nothing. The shells are
//! Debian's (`bash scripts/install-deps.sh shells`); PowerShell is not
//! packaged for Debian, so its rule is a unit test (src/shell_quote.rs).

use crate::support::cli::Plugin;
use crate::support::http_server::Reply;
use crate::support::minimax::{MiniMax, TOKEN_PATH};
use crate::support::profile::{login_json, stored, write_profile};
use minimax_portal_auth::testing::{Syntax, export_line};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Stdio};

/// A shell that reads `env`'s output: its program, how to run a script
/// file, the syntax it reads, and how it prints a variable NUL-terminated.
struct RealShell {
    program: &'static str,
    args: &'static [&'static str],
    syntax: Syntax,
    shell_flag: &'static str,
}

const SHELLS: &[RealShell] = &[
    RealShell {
        program: "dash",
        args: &[],
        syntax: Syntax::Posix,
        shell_flag: "sh",
    },
    RealShell {
        program: "bash",
        args: &["--norc", "--noprofile"],
        syntax: Syntax::Posix,
        shell_flag: "bash",
    },
    RealShell {
        program: "zsh",
        args: &["-f"],
        syntax: Syntax::Posix,
        shell_flag: "zsh",
    },
    RealShell {
        program: "fish",
        args: &["--no-config"],
        syntax: Syntax::Fish,
        shell_flag: "fish",
    },
];

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-c")
        .arg("exit 0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The shells installed here. Under CI a missing one fails the test;
/// elsewhere it is skipped with a line saying how to install it.
fn available() -> Vec<&'static RealShell> {
    let mut found = Vec::new();
    for shell in SHELLS {
        if installed(shell.program) {
            found.push(shell);
        } else if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{} is not installed (CI=true): run bash scripts/install-deps.sh shells",
                shell.program
            );
        } else {
            eprintln!(
                "skipped: {} is not installed here (bash scripts/install-deps.sh shells)",
                shell.program
            );
        }
    }
    found
}

/// Runs `script` (a file) in `shell` with `dir` as its working folder;
/// returns stdout.
fn run_script(shell: &RealShell, dir: &Path, script: &str) -> Vec<u8> {
    let file = dir.join(format!("script.{}", shell.program));
    std::fs::write(&file, script).expect("write the script");
    let out = Command::new(shell.program)
        .args(shell.args)
        .arg(&file)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run the shell");
    assert!(
        out.status.success(),
        "{} failed on\n{script}\nstderr: {}",
        shell.program,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The line that prints `var`'s value followed by a NUL.
/// (The same words in every shell here.)
fn print_var(var: &str) -> String {
    format!("printf '%s\\0' \"${var}\"\n")
}

/// Values a hostile portal or a strange store could hold. Each one that
/// would run something touches `pwned` in the working folder.
fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        "plain",
        "https://evil.example/anthropic#\\';id;#",
        "\\';touch pwned;#",
        "'",
        "''",
        "\\",
        "\\\\",
        "a\\",
        "\\'",
        "'\\''",
        "';touch pwned;'",
        "\";touch pwned;\"",
        "$(touch pwned)",
        "`touch pwned`",
        "${HOME}",
        "$HOME",
        "(touch pwned)",
        "{touch,pwned}",
        "*",
        "~",
        "!!",
        "%1",
        "line\nbreak",
        "cr\rhere",
        "tab\there",
        "a\u{2018}b\u{2019}c\u{201A}d\u{201B}e",
        "\u{2018};touch pwned;\u{2019}",
        "$env:PATH",
        "x'; touch pwned; echo '",
        "\\x27;touch pwned;#",
        "\\n\\t\\e",
        "é ü 中 🙂",
        "\u{202E}rtl",
        "#",
        "a # b",
        "--",
        "-e",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every printable ASCII character, and long runs of the dangerous ones.
    values.push((b' '..=b'~').map(char::from).collect());
    values.push("\\'".repeat(50));
    values.push("'\\".repeat(50));
    values
}

/// Stores profile `default`, issued by the portal at `portal_url`, its
/// access token living `left_ms` more, with `fields` set as given.
fn store_with(plugin: &Plugin, portal_url: &str, left_ms: i64, fields: &[(&str, &str)]) {
    let mut profile = login_json(
        "default",
        &format!("{portal_url}{TOKEN_PATH}"),
        "ref-seed-0123456789",
        left_ms,
        "global",
    );
    for (field, value) in fields {
        profile[*field] = json!(value);
    }
    write_profile(plugin, "default", &serde_json::to_vec(&profile).unwrap());
}

/// The ground truth for the quoting rule: each real shell reads back, from
/// the lines `env` would print, exactly the value, and runs nothing.
#[test]
fn every_real_shell_reads_back_exactly_the_value() {
    let values = hostile_values();
    for shell in available() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut script = String::new();
        for (i, value) in values.iter().enumerate() {
            script.push_str(&export_line(shell.syntax, &format!("V{i}"), value));
        }
        for i in 0..values.len() {
            script.push_str(&print_var(&format!("V{i}")));
        }
        let out = run_script(shell, dir.path(), &script);
        let got: Vec<String> = out
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert_eq!(got.len(), values.len() + 1, "{}: {got:?}", shell.program);
        for (value, read) in values.iter().zip(&got) {
            assert_eq!(read, value, "{} read back {read:?}", shell.program);
        }
        assert!(
            !dir.path().join("pwned").exists(),
            "{} ran a command from a value",
            shell.program
        );
    }
}

/// `env`'s own output for each shell's flag, evaluated by that shell,
/// gives the stored values (and `bash`/`zsh` are accepted as `sh`).
#[test]
fn env_output_for_each_shell_gives_the_stored_values() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    store_with(
        &plugin,
        &portal.url(),
        3_600_000,
        &[
            ("access", "eyJ0eXAi.Oi-_~+/x=="),
            ("base_url", "https://api.minimax.io/anthropic;v=1"),
        ],
    );
    for shell in available() {
        let run = plugin.run(&["env", "--shell", shell.shell_flag]);
        run.expect_code(0);
        let dir = tempfile::tempdir().expect("temp dir");
        let script = format!(
            "{}{}{}",
            run.stdout,
            print_var("ANTHROPIC_BASE_URL"),
            print_var("ANTHROPIC_AUTH_TOKEN")
        );
        let out = run_script(shell, dir.path(), &script);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "https://api.minimax.io/anthropic;v=1\0eyJ0eXAi.Oi-_~+/x==\0",
            "{}",
            shell.program
        );
    }
}

/// The reported attack: a portal puts shell syntax in `resource_url` and
/// in the access token. Neither reaches a shell: the URL is refused (the
/// previous base URL kept, with a warning), the token is not handed out.
#[test]
fn a_hostile_portal_runs_nothing_through_env() {
    let evil_url = "https://evil.example/anthropic#\\';touch pwned;#";
    let evil_token = "acc\\';touch pwned;#";
    for (what, access) in [("url", "acc-new-0123456789"), ("token", evil_token)] {
        let body = json!({
            "status": "success",
            "access_token": access,
            "refresh_token": "ref-new-0123456789",
            "expired_in": 3600,
            "resource_url": evil_url,
        });
        let (portal, _mm) = MiniMax::new()
            .refresh_replies(vec![Reply::text(200, "application/json", body.to_string())])
            .start();
        let plugin = Plugin::new(&portal.url());
        store_with(&plugin, &portal.url(), -1_000, &[]);
        for shell in available() {
            let run = plugin.run(&["env", "--shell", shell.shell_flag]);
            assert!(!run.stdout.contains("pwned"), "{what}: {run:?}");
            assert!(!run.all_output().contains(evil_token), "{what}: {run:?}");
            let dir = tempfile::tempdir().expect("temp dir");
            run_script(shell, dir.path(), &run.stdout);
            assert!(!dir.path().join("pwned").exists(), "{what}: {run:?}");
        }
        let after = stored(&plugin, "default");
        assert_eq!(after["base_url"], "https://api.minimax.io/anthropic");
        assert_eq!(after["refresh"], "ref-new-0123456789", "{what}");
        assert_ne!(after["access"], evil_token, "{what}");
    }
}

/// A profile that already holds such values (written by an older version)
/// is refused by `env`, which prints nothing for a shell to run.
#[test]
fn env_refuses_a_stored_hostile_value_and_prints_nothing() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    for (field, value) in [
        (
            "base_url",
            "https://evil.example/anthropic#\\';touch pwned;#",
        ),
        ("base_url", "https://evil.example/a?x='1'"),
        ("access", "acc\\';touch pwned;#"),
        ("access", "acc-with space"),
    ] {
        store_with(&plugin, &portal.url(), 3_600_000, &[(field, value)]);
        let run = plugin.run(&["env", "--shell", "fish"]);
        run.expect_code(1);
        assert_eq!(run.stdout, "", "{field}={value:?}");
    }
}

/// A stored URL is printed and written back exactly as it was stored, also
/// where a parsed URL would read otherwise (a bare host gains a `/`, a host
/// is lowercased, `..` is resolved): by `token`, `env`, `status`, both
/// routes of `openclaw setup`, and the save after a refresh.
#[test]
fn stored_urls_are_printed_and_written_back_as_stored() {
    use minimax_portal_auth::json;
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed-0123456789").start();
    let plugin = Plugin::new(&portal.url());
    let base_url = "https://API.Example.test";
    let endpoint = format!("{}/x/..{TOKEN_PATH}", portal.url());
    store_with(
        &plugin,
        &portal.url(),
        -1_000,
        &[("base_url", base_url), ("token_endpoint", &endpoint)],
    );
    let token = plugin.run(&["token", "--json"]);
    let token = token.expect_code(0).json_as::<json::TokenOutput>();
    assert_eq!(token["outcome"], "refreshed");
    assert_eq!(token["base_url"], base_url);
    let after = stored(&plugin, "default");
    assert_eq!(mm.refresh_count(), 1);
    assert_ne!(after["access"], "acc-old");
    assert_eq!(after["base_url"], base_url);
    assert_eq!(after["token_endpoint"], endpoint.as_str());

    let env = plugin.run(&["env", "--json"]);
    let env = env.expect_code(0).json_as::<json::EnvOutput>();
    assert_eq!(env["ANTHROPIC_BASE_URL"], base_url);
    plugin
        .run(&["env", "--shell", "sh"])
        .expect_code(0)
        .stdout_has(base_url);
    let status = plugin.run(&["status", "--json"]);
    let status = status.expect_code(0).json_as::<json::StatusOutput>();
    assert_eq!(status["profiles"][0]["base_url"], base_url);
    for route in ["plugin", "exec"] {
        let setup = plugin.run(&["openclaw", "setup", "--route", route, "--dry-run", "--json"]);
        let patch = setup.expect_code(0).json()["patch"].clone();
        assert_eq!(
            patch["models"]["providers"]["minimax-portal"]["baseUrl"], base_url,
            "{route}: {patch}"
        );
    }
}

/// Stored text that is no URL loads as before: `token` and `status` serve
/// the profile, and only what uses the URL fails, with the same message
/// and exit code (`env`, `usage` for the base URL; a refresh for the token
/// endpoint, the profile untouched).
#[test]
fn stored_text_that_is_no_url_fails_only_where_it_is_used() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed-0123456789").start();
    let plugin = Plugin::new(&portal.url());
    store_with(
        &plugin,
        &portal.url(),
        3_600_000,
        &[("base_url", "no url"), ("token_endpoint", "no endpoint")],
    );
    let before = stored(&plugin, "default");
    let token = plugin.run(&["token", "--json"]);
    assert_eq!(token.expect_code(0).json()["base_url"], "no url");
    let status = plugin.run(&["status", "--json"]);
    assert_eq!(
        status.expect_code(0).json()["profiles"][0]["base_url"],
        "no url"
    );
    let env = plugin.run(&["env", "--shell", "sh"]);
    env.expect_code(1).stderr_has(
        "cannot be printed: the stored model base URL is not usable: \"no url\" is not a URL \
         (relative URL without a base)",
    );
    assert_eq!(env.stdout, "");
    plugin
        .run(&["usage"])
        .expect_code(1)
        .stderr_has("\"no url\" is not a URL (relative URL without a base)");
    plugin
        .run(&["refresh", "--force"])
        .expect_code(1)
        .stderr_has(
            "the profile's token endpoint is unusable: \"no endpoint\" is not a URL \
         (relative URL without a base)",
        );
    assert_eq!(mm.refresh_count(), 0);
    assert_eq!(stored(&plugin, "default"), before);
}
