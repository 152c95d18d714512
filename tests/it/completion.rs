//! Completion as people meet it: a real bash, zsh and fish load the script
//! `completions SHELL` prints and complete a partly typed command line,
//! flags, values and the stored profile names included.
//!
//! A shell that is not installed skips its test, except under CI=true,
//! where scripts/install-deps.sh installs it and its absence is a failure.

use crate::support::cli::{BIN, Plugin, finish};
use crate::support::profile::{seed, seed_default};
use std::path::Path;
use std::process::Command;

/// The shell's path, or None (a skip) when it is missing outside CI.
fn shell(name: &str) -> Option<String> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (bash scripts/install-deps.sh keyring installs it)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

/// A state folder with the profiles `default` and `work`.
fn two_profiles() -> Plugin {
    let plugin = Plugin::new("http://127.0.0.1:9");
    seed_default(&plugin, "http://127.0.0.1:9", "ref-a", 3_600_000);
    seed(
        &plugin,
        "work",
        "http://127.0.0.1:9/oauth2/token",
        "ref-b",
        3_600_000,
        "cn",
    );
    plugin
}

/// Runs `script` in `shell` with the binary on PATH, as a user who
/// installed it would; returns the candidates it printed, one a line.
fn complete_in(plugin: &Plugin, shell: &str, args: &[&str], script: &str) -> Vec<String> {
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = plugin.command_for(Path::new(shell), args);
    cmd.arg(script).env("PATH", path).env("HOME", plugin.home());
    let run = finish(cmd.spawn().expect("run the shell"));
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Bash: the function `complete -p` names, called as bash calls it on TAB.
fn bash_completes(plugin: &Plugin, bash: &str, line: &str) -> Vec<String> {
    let script = format!(
        r#"source <(minimax-portal-auth completions bash) || exit 9
func=$(complete -p minimax-portal-auth | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$func" ] || exit 8
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_TYPE=9
COMPREPLY=()
"$func" minimax-portal-auth "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    complete_in(plugin, bash, &["--norc", "--noprofile", "-c"], &script)
}

/// Zsh: the completion function the script defines, with compsys's
/// `words` and `CURRENT` as on TAB; what it hands `_describe` is printed.
fn zsh_completes(plugin: &Plugin, zsh: &str, line: &str) -> Vec<String> {
    let script = format!(
        r#"autoload -Uz compinit && compinit -u -D
source <(minimax-portal-auth completions zsh) || exit 9
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
LINE='{line}'
words=(${{(z)LINE}})
[[ "$LINE" == *" " ]] && words+=("")
CURRENT=${{#words}}
_clap_dynamic_completer_minimax_portal_auth"#
    );
    complete_in(plugin, zsh, &["-f", "-c"], &script)
        .into_iter()
        .map(|c| c.split(':').next().unwrap_or("").to_string())
        .collect()
}

/// Fish: its own `complete -C`, after loading the script.
fn fish_completes(plugin: &Plugin, fish: &str, line: &str) -> Vec<String> {
    let script =
        format!("minimax-portal-auth completions fish | source; or exit 9\ncomplete -C '{line}'");
    complete_in(plugin, fish, &["--no-config", "-c"], &script)
}

/// What every shell must complete: (line typed, a candidate it must offer,
/// a candidate it must not).
const CASES: &[(&str, &str, &str)] = &[
    ("minimax-portal-auth log", "login", "status"),
    ("minimax-portal-auth login --re", "--region", "--json"),
    ("minimax-portal-auth login --region ", "cn", "default"),
    ("minimax-portal-auth openclaw ", "setup", "login"),
    ("minimax-portal-auth completions f", "fish", "bash"),
    ("minimax-portal-auth switch ", "work", "login"),
    ("minimax-portal-auth status -p w", "work", "default"),
    (
        "minimax-portal-auth token --profile ",
        "default",
        "--margin",
    ),
];

fn check(shell: &str, complete: impl Fn(&str) -> Vec<String>) {
    for (line, wanted, unwanted) in CASES {
        let got = complete(line);
        assert!(
            got.iter().any(|c| c == wanted),
            "{shell}: `{line}<TAB>` does not offer {wanted:?}: {got:?}"
        );
        assert!(
            !got.iter().any(|c| c == unwanted),
            "{shell}: `{line}<TAB>` offers {unwanted:?}: {got:?}"
        );
    }
}

#[test]
fn bash_completes_every_word() {
    let Some(bash) = shell("bash") else { return };
    let plugin = two_profiles();
    check("bash", |line| bash_completes(&plugin, &bash, line));
}

#[test]
fn zsh_completes_every_word() {
    let Some(zsh) = shell("zsh") else { return };
    let plugin = two_profiles();
    check("zsh", |line| zsh_completes(&plugin, &zsh, line));
}

#[test]
fn fish_completes_every_word() {
    let Some(fish) = shell("fish") else { return };
    let plugin = two_profiles();
    check("fish", |line| fish_completes(&plugin, &fish, line));
}
