//! plugin.toml is what a host reads: it must pass the checks a host makes
//! (`minimax_portal_auth::Manifest::parse`), every command line it names
//! must exist, and what it says must match the binary.

use crate::support::cli::BIN;
use minimax_portal_auth::{Class, Manifest, ProfileName};
use std::process::Command;

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"))
        .expect("plugin.toml");
    text.parse().expect("plugin.toml is TOML")
}

/// plugin.toml as a host reads it, checked.
fn checked() -> Manifest {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"))
        .expect("plugin.toml");
    Manifest::parse(&text).unwrap_or_else(|problems| panic!("plugin.toml: {problems:#?}"))
}

fn command_lines(manifest: &Manifest) -> Vec<&Vec<String>> {
    let mut lines: Vec<&Vec<String>> = manifest.auth_choices.iter().map(|c| &c.command).collect();
    lines.push(&manifest.startup.command);
    lines.push(&manifest.token.command);
    lines.extend(manifest.status.as_ref().map(|s| &s.command));
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
    let m = checked();
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

#[test]
fn it_describes_the_stores_the_library_and_the_binary_use() {
    let m = checked();
    let profile = &m.profile;
    assert_eq!(m.provider.id, minimax_portal_auth::testing::PROVIDER);
    assert_eq!(
        profile.keyring.service,
        minimax_portal_auth::testing::SERVICE
    );
    let work = ProfileName::parse("work").unwrap();
    assert_eq!(profile.id_of(&work), work.profile_id());
    assert_eq!(profile.name_in(&work.profile_id()), Some(work.clone()));
    assert_eq!(
        profile.keyring.account.replace("{name}", "work"),
        work.profile_id()
    );
    assert_eq!(profile.file.path, "{state_home}/profiles/{name}.json");
    for class in Class::ALL {
        assert_eq!(m.exit_codes[class.as_str()], class.exit_code(), "{class:?}");
    }
    assert_eq!(m.exit_codes["ok"], 0);

    // The binary reads the variables the manifest names, and finds its
    // state folder where the manifest's candidates say.
    let home = tempfile::tempdir().unwrap();
    let home_dir = home.path().to_str().unwrap().to_string();
    let status = |vars: &[(&str, &str)]| {
        let out = Command::new(BIN)
            .args(["status", "--json"])
            .env_clear()
            .envs(vars.iter().copied())
            .output()
            .expect("run the plugin");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("status --json")
    };
    let pinned = status(&[
        (&profile.file.state_home_env, &home_dir),
        (&profile.store_env, "file"),
    ]);
    assert_eq!(pinned["state_home"], home_dir.as_str());
    assert_eq!(pinned["store_mode"], "file");
    if cfg!(unix) {
        // Unset: the candidates of this system; on Unix, one is under HOME.
        let vars = [
            ("HOME", home_dir.as_str()),
            (profile.store_env.as_str(), "file"),
        ];
        let env = |name: &str| vars.iter().find(|v| v.0 == name).map(|v| v.1.to_string());
        let expected = profile
            .file
            .state_home_in(env)
            .expect("a candidate for HOME");
        assert!(expected.starts_with(home.path()), "{expected:?}");
        assert_eq!(status(&vars)["state_home"], expected.to_str().unwrap());
    }
}
