//! plugin.toml is what a host reads: every command line it names must exist,
//! and what it says must match the binary.

use crate::support::cli::BIN;

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"))
        .expect("plugin.toml");
    text.parse().expect("plugin.toml is TOML")
}

fn command_lines(manifest: &toml::Table) -> Vec<Vec<String>> {
    let as_line = |v: &toml::Value| -> Vec<String> {
        v.as_array()
            .expect("command is an array")
            .iter()
            .map(|s| s.as_str().expect("command words are strings").to_string())
            .collect()
    };
    let mut lines = Vec::new();
    for choice in manifest["auth_choices"].as_array().expect("auth_choices") {
        lines.push(as_line(&choice["command"]));
    }
    for section in ["startup", "token", "status"] {
        lines.push(as_line(&manifest[section]["command"]));
    }
    lines
}

#[test]
fn identity_matches_the_crate() {
    let m = manifest();
    assert_eq!(m["id"].as_str(), Some("minimax-portal-auth"));
    assert_eq!(m["binary"].as_str(), Some("minimax-portal-auth"));
    assert_eq!(m["version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(m["provider"]["id"].as_str(), Some("minimax-portal"));
    let choices: Vec<&str> = m["auth_choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        choices,
        ["minimax-portal", "minimax-global-oauth", "minimax-cn-oauth"]
    );
    assert_eq!(
        m["profile"]["keyring"]["service"].as_str(),
        Some("minimax-portal-auth")
    );
    assert_eq!(
        m["profile"]["keyring"]["account"].as_str(),
        Some("minimax-portal:{name}")
    );
}

#[test]
fn every_command_line_exists() {
    let m = manifest();
    let lines = command_lines(&m);
    assert_eq!(lines.len(), 6);
    for line in lines {
        assert_eq!(line[0], "minimax-portal-auth", "{line:?}");
        let out = std::process::Command::new(BIN)
            .args(&line[1..])
            .arg("--help")
            .output()
            .expect("run the plugin");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{line:?} --help failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("Usage: minimax-portal-auth"),
            "{line:?}: {stdout}"
        );
        // --help also proves every flag on the line is known: clap would refuse it.
    }
}

#[test]
fn exit_codes_match_the_help() {
    let m = manifest();
    let help = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for (name, code) in m["exit_codes"].as_table().unwrap() {
        let code = code.as_integer().unwrap();
        assert!(
            help.contains(&format!("\n  {code:<4} ")),
            "exit code {name}={code} not in --help"
        );
    }
}
