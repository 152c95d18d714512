//! The Windows binary (x86_64-pc-windows-gnu, built by scripts/cross-check.sh
//! and named by MINIMAX_PORTAL_TEST_WINDOWS_EXE) under Wine, against the
//! same local portal as the Linux tests: login, token, status and logout
//! with the file store and with the Credential Manager (Wine's answers
//! CredWriteW/CredReadW/CredDeleteW), and concurrent refreshes under the
//! profile lock.
//!
//! Two things are Wine's, not Windows':
//! - Wine 8.0 has no `bcryptprimitives.dll`, whose `ProcessPrng` Rust's
//!   standard library imports, so the .exe does not even load (status
//!   c0000135). The test builds a stand-in
//!   (tests/fixtures/windows/bcryptprimitives.c, over RtlGenRandom) with
//!   mingw and puts it beside the .exe in its own temporary folder; nothing
//!   else gets it, and a real Windows finds its own copy in System32 first.
//! - File modes and ACLs: Wine stores files as the Unix user with the umask,
//!   so nothing here shows what ACL a file gets on Windows (see README).
//!
//! Wine's prefix (its C: drive and registry) is kept in the test cache,
//! `${MINIMAX_PORTAL_TEST_CACHE:-~/.cache/minimax-portal-auth-tests}/wine-prefix`,
//! so its first set-up (about 10 s) is paid once. Every Wine call is bounded
//! in time. Without wine, mingw or the .exe the tests say so and pass,
//! except under CI=true, where they fail.

use crate::support::cli::{Plugin, Run, finish};
use crate::support::minimax::MiniMax;
use crate::support::profile::{seed_default, stored};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const EXE_ENV: &str = "MINIMAX_PORTAL_TEST_WINDOWS_EXE";
/// Each run of the .exe is stopped after this many seconds (the harness's
/// own deadline, 60 s, is the backstop).
const RUN_SECONDS: &str = "45";

/// The .exe and its stand-in DLL in a folder of their own, and the prefix.
struct Wine {
    exe: PathBuf,
    prefix: PathBuf,
    _dir: tempfile::TempDir,
}

fn cache_dir() -> PathBuf {
    match std::env::var_os("MINIMAX_PORTAL_TEST_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/minimax-portal-auth-tests"),
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs a set-up command with a time bound; panics with its output.
#[track_caller]
fn set_up(what: &str, seconds: &str, program: &str, args: &[&str]) {
    let out = Command::new("timeout")
        .args(["--kill-after=5", seconds, program])
        .args(args)
        .env("WINEDEBUG", "-all")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn prepare() -> Result<Wine, String> {
    let exe = std::env::var_os(EXE_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{EXE_ENV} is not set (scripts/cross-check.sh builds it)"))?;
    if !exe.is_file() {
        return Err(format!("{EXE_ENV}={} is not a file", exe.display()));
    }
    for program in ["wine", "wineserver", "x86_64-w64-mingw32-gcc"] {
        if !on_path(program) {
            return Err(format!(
                "no {program} on PATH (bash scripts/install-deps.sh cross)"
            ));
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let local_exe = dir.path().join("minimax-portal-auth.exe");
    // A hard link when the file system allows (the .exe is large).
    if std::fs::hard_link(&exe, &local_exe).is_err() {
        std::fs::copy(&exe, &local_exe).expect("copy the .exe");
    }
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/windows/bcryptprimitives.c");
    let dll = dir.path().join("bcryptprimitives.dll");
    set_up(
        "building the stand-in bcryptprimitives.dll",
        "120",
        "x86_64-w64-mingw32-gcc",
        &[
            "-shared",
            "-O2",
            "-o",
            dll.to_str().expect("UTF-8 temp path"),
            source.to_str().expect("UTF-8 source path"),
            "-ladvapi32",
        ],
    );
    let prefix = cache_dir().join("wine-prefix");
    std::fs::create_dir_all(prefix.parent().expect("a parent")).expect("create the cache");
    // wineboot creates the prefix the first time and is quick after; one
    // test binary runs it once.
    let status = Command::new("timeout")
        .args(["--kill-after=5", "300", "wine", "wineboot", "--init"])
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        // No Mono or Gecko installer dialogs.
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .map_err(|e| format!("cannot run wine: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "wineboot failed ({}): {}",
            status.status,
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    Ok(Wine {
        exe: local_exe,
        prefix,
        _dir: dir,
    })
}

/// Wine and the .exe, ready; `None` (with a line saying why) when missing
/// outside CI. Under CI=true a missing piece fails the test.
fn wine() -> Option<&'static Wine> {
    static WINE: OnceLock<Result<Wine, String>> = OnceLock::new();
    match WINE.get_or_init(prepare) {
        Ok(wine) => Some(wine),
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the Windows tests: {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// `Z:` is Wine's drive for the Unix root.
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

impl Wine {
    /// `minimax-portal-auth.exe ARGS` under Wine, in `plugin`'s environment
    /// (Wine passes the Unix environment on), its state folder as a
    /// Windows path.
    fn run(&self, plugin: &Plugin, args: &[&str]) -> Run {
        let run = self.run_once(plugin, args);
        // Wine itself (not the .exe, whose exits are codes) was seen killed
        // by a signal once, on a machine at load 20, after the .exe had
        // printed its whole answer. A command that changes nothing is run
        // again once, saying so; a second death fails the test.
        let changes_nothing = matches!(
            args.first(),
            Some(&"status" | &"token" | &"--help" | &"--version")
        );
        if run.code == -1 && changes_nothing {
            eprintln!("Wine died by a signal running {args:?}; running it again once:\n{run}");
            return self.run_once(plugin, args);
        }
        run
    }

    fn run_once(&self, plugin: &Plugin, args: &[&str]) -> Run {
        let exe = self.exe.to_str().expect("UTF-8 temp path");
        let mut wine_args = vec!["--kill-after=5", RUN_SECONDS, "wine", exe];
        wine_args.extend_from_slice(args);
        let mut cmd = plugin.command_for(Path::new("timeout"), &wine_args);
        cmd.env("MINIMAX_PORTAL_AUTH_HOME", windows_path(plugin.home()))
            .env("WINEPREFIX", &self.prefix)
            // A DLL that fails to load is the one message worth seeing.
            .env("WINEDEBUG", "-all,err+module")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
        finish(cmd.spawn().expect("spawn wine"))
    }
}

#[test]
fn help_runs_under_wine() {
    let Some(wine) = wine() else { return };
    let plugin = Plugin::new("http://127.0.0.1:9");
    let run = wine.run(&plugin, &["--help"]);
    run.expect_code(0)
        .stdout_has("Usage: minimax-portal-auth")
        .stdout_has("login");
    wine.run(&plugin, &["--version"])
        .expect_code(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

/// login, token, status, logout with the file store: the profile lands in
/// the state folder given as a Windows path, and is gone after logout.
#[test]
fn the_file_store_cycle_under_wine() {
    let Some(wine) = wine() else { return };
    let (portal, mm) = MiniMax::new().pending(1).interval_ms(200).start();
    let plugin = Plugin::new(&portal.url());

    let login = wine.run(
        &plugin,
        &["login", "--region", "global", "--no-browser", "--json"],
    );
    login.expect_code(0);
    assert_eq!(login.json_field("/store"), "file", "{login}");
    assert!(!login.all_output().contains("acc-1"), "{login}");
    mm.assert_no_problems();
    let profile = stored(&plugin, "default");
    assert_eq!(profile["access"], "acc-1");
    assert_eq!(profile["refresh"], "ref-1");

    wine.run(&plugin, &["token"])
        .expect_code(0)
        .stdout_has("acc-1");

    let status = wine.run(&plugin, &["status", "--json"]);
    status.expect_code(0);
    assert_eq!(
        status.json_field("/profiles/0/profile_id"),
        "minimax-portal:default"
    );
    assert_eq!(status.json_field("/profiles/0/store"), "file", "{status}");
    assert_eq!(
        status.json_field("/state_home"),
        windows_path(plugin.home()).as_str(),
        "the state folder as Windows names it: {status}"
    );

    wine.run(&plugin, &["logout"]).expect_code(0);
    assert!(!plugin.profile_file("default").exists());
    wine.run(&plugin, &["token"]).expect_code(3);
}

/// Five `token` runs at once on an expired profile: the profile lock
/// (LockFileEx on Windows) lets exactly one refresh reach the portal, the
/// others re-read its result, and the file is replaced whole.
#[test]
fn the_profile_lock_holds_under_wine() {
    let Some(wine) = wine() else { return };
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed").start();
    let plugin = Plugin::new(&portal.url());
    seed_default(&plugin, &portal.url(), "ref-seed", 0);

    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..5)
            .map(|_| s.spawn(|| wine.run(&plugin, &["token"])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a wine run"))
            .collect()
    });
    for run in &runs {
        run.expect_code(0);
    }
    assert_eq!(
        mm.refresh_count(),
        1,
        "exactly one refresh may reach the portal"
    );
    let profile = stored(&plugin, "default");
    for run in &runs {
        assert_eq!(run.stdout.trim(), profile["access"], "{run}");
    }
    assert_ne!(profile["access"], "acc-old");
    assert!(mm.is_live(profile["refresh"].as_str().expect("a refresh token")));
    mm.assert_no_problems();
}

/// The same cycle with the Windows Credential Manager (CredWriteW,
/// CredReadW, CredDeleteW), which Wine keeps in its registry: the profile
/// is in the keyring, not in a file.
#[test]
fn the_credential_manager_cycle_under_wine() {
    let Some(wine) = wine() else { return };
    let (portal, mm) = MiniMax::new().interval_ms(200).start();
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    // A profile name of its own: the prefix, and so its credentials, are
    // shared by every run.
    let name = format!("wine{}", std::process::id());

    let login = wine.run(
        &plugin,
        &[
            "login",
            "--profile",
            &name,
            "--region",
            "global",
            "--no-browser",
            "--json",
        ],
    );
    login.expect_code(0);
    assert_eq!(login.json_field("/store"), "keyring", "{login}");
    mm.assert_no_problems();
    assert!(!plugin.profile_file(&name).exists(), "no file copy");

    wine.run(&plugin, &["token", "--profile", &name])
        .expect_code(0)
        .stdout_has("acc-1");
    let status = wine.run(&plugin, &["status", "--json", "--profile", &name]);
    status.expect_code(0);
    assert_eq!(
        status.json_field("/profiles/0/store"),
        "keyring",
        "{status}"
    );
    assert_eq!(
        status.json_field("/keyring_backend"),
        "Windows Credential Manager",
        "{status}"
    );

    wine.run(&plugin, &["logout", "--profile", &name])
        .expect_code(0);
    wine.run(&plugin, &["token", "--profile", &name])
        .expect_code(3);
}

/// `openclaw setup --dry-run` on Windows' code path: the patch OpenClaw
/// would get names the .exe and the state folder as plain Windows paths
/// (std's canonicalize gives `\\?\Z:\...`), and passes Windows' variables.
#[test]
fn the_openclaw_setup_patch_under_wine() {
    let Some(wine) = wine() else { return };
    let plugin = Plugin::new("http://127.0.0.1:9");
    seed_default(&plugin, "http://127.0.0.1:9", "ref-seed", 3_600_000);
    let run = wine.run(
        &plugin,
        &[
            "openclaw",
            "setup",
            "--route",
            "exec",
            "--dry-run",
            "--json",
        ],
    );
    run.expect_code(0);
    let exec = run.json_field("/patch/secrets/providers/minimax-portal-auth");
    assert_eq!(exec["command"], windows_path(&wine.exe), "{run}");
    assert_eq!(
        exec["env"]["MINIMAX_PORTAL_AUTH_HOME"],
        windows_path(plugin.home()),
        "{run}"
    );
    let pass_env = exec["passEnv"].as_array().expect("passEnv is a list");
    for var in ["SYSTEMROOT", "LOCALAPPDATA", "USERPROFILE"] {
        assert!(pass_env.iter().any(|v| v == var), "{var}: {run}");
    }
    assert!(
        !pass_env.iter().any(|v| v == "DBUS_SESSION_BUS_ADDRESS"),
        "{run}"
    );
}
