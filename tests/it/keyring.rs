//! The stores with a real OS keyring: the Secret Service from gnome-keyring,
//! started by scripts/with-keyring.sh (which sets MINIMAX_PORTAL_TEST_KEYRING).
//! The fault cases use a fake session bus that never answers: a real keyring
//! cannot be made to hang on demand without breaking the other tests.

use crate::support::cli::Plugin;
use crate::support::minimax::MiniMax;
use crate::support::real_keyring;
use std::os::unix::net::UnixListener;
use std::process::Command;

/// A profile name no other test uses, since all share one keyring.
pub(crate) fn unique(tag: &str) -> String {
    format!("{tag}-{}", std::process::id())
}

pub(crate) fn keyring_plugin(portal_url: &str) -> Plugin {
    let mut plugin = Plugin::new(portal_url);
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    plugin
}

/// What a host reads: the Secret Service item, looked up without the plugin.
fn secret_tool_lookup(profile_id: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "minimax-portal-auth",
            "username",
            profile_id,
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn login_into_the_secret_service_and_read_it_from_another_process() {
    if !real_keyring() {
        return;
    }
    let (portal, mm) = MiniMax::new().start();
    let plugin = keyring_plugin(&portal.url());
    let name = unique("e2e");
    let run = plugin.login(&["--profile", &name, "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["store"], "keyring");
    assert!(
        !plugin.profile_file(&name).exists(),
        "nothing in the file store"
    );
    mm.assert_no_problems();

    // A second process reads the token back.
    let token = plugin.run(&["token", "--profile", &name]);
    token.expect_code(0);
    assert_eq!(token.stdout, "acc-1\n");

    // A host reads the same profile straight from the Secret Service.
    let stored =
        secret_tool_lookup(&format!("minimax-portal:{name}")).expect("item in the Secret Service");
    let profile: serde_json::Value =
        serde_json::from_str(&stored).expect("the item is the profile JSON");
    assert_eq!(profile["access"], "acc-1");
    assert_eq!(profile["type"], "oauth");
    assert_eq!(profile["provider"], "minimax-portal");

    let status = plugin.run(&["status", "--json"]);
    status.expect_code(0);
    let rows = status.json()["profiles"].as_array().cloned().unwrap();
    let row = rows
        .iter()
        .find(|r| r["name"] == name.as_str())
        .expect("listed");
    assert_eq!(row["store"], "keyring");

    // Refresh writes back to the keyring.
    let refreshed = plugin.run(&["refresh", "--profile", &name, "--force", "--json"]);
    refreshed.expect_code(0);
    let again = plugin.run(&["token", "--profile", &name]);
    assert_eq!(again.stdout, "acc-2\n", "{again:?}");

    let logout = plugin.run(&["logout", "--profile", &name]);
    logout.expect_code(0);
    assert!(secret_tool_lookup(&format!("minimax-portal:{name}")).is_none());
    plugin.run(&["token", "--profile", &name]).expect_code(3);
}

#[test]
fn auto_prefers_the_keyring_and_writes_no_plain_text() {
    if !real_keyring() {
        return;
    }
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "auto");
    let name = unique("auto");
    let run = plugin.login(&["--profile", &name, "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["store"], "keyring");
    run.stderr_lacks("warning");
    assert!(!plugin.profile_file(&name).exists());
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

/// Makes `file` impossible to remove until the guard drops: its folder
/// read-only, or, for root (whom permissions do not stop), the file
/// immutable.
struct Unremovable {
    file: std::path::PathBuf,
    root: bool,
}

impl Unremovable {
    fn new(file: &std::path::Path) -> Unremovable {
        use std::os::unix::fs::PermissionsExt;
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n");
        let guard = Unremovable {
            file: file.to_path_buf(),
            root,
        };
        if root {
            let made = Command::new("chattr").arg("+i").arg(file).status();
            assert!(
                made.is_ok_and(|s| s.success()),
                "chattr +i cannot make a file unremovable here"
            );
        } else {
            let folder = file.parent().expect("the file's folder");
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o500))
                .expect("make the folder read-only");
        }
        guard
    }
}

impl Drop for Unremovable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.root {
            let _ = Command::new("chattr").arg("-i").arg(&self.file).status();
        } else if let Some(folder) = self.file.parent() {
            let _ = std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700));
        }
    }
}

/// Issue 17: `status` said "no OS keyring answered" whenever the store had
/// any warning. An older plain copy that cannot be removed is a warning
/// of its own; the keyring answered, and `status` must not say otherwise.
#[test]
fn a_stale_copy_that_cannot_be_removed_does_not_blame_the_keyring() {
    if !real_keyring() {
        return;
    }
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    let name = unique("stale");
    // An older copy in the file store, then the newest in the keyring.
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "file");
    plugin.login(&["--profile", &name]).expect_code(0);
    std::thread::sleep(std::time::Duration::from_millis(5));
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    let newest = plugin.login(&["--profile", &name, "--json"]);
    newest.expect_code(0);
    assert_eq!(newest.json()["store"], "keyring");

    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "auto");
    let stale = plugin.profile_file(&name);
    let status = {
        let _kept = Unremovable::new(&stale);
        plugin.run(&["status", "--profile", &name])
    };
    status
        .expect_code(0)
        .stderr_has("warning: could not remove an older copy")
        .stderr_lacks("no OS keyring answered");
    status.stdout_has("keyring (");
    assert!(stale.exists(), "the copy was not removable: {status}");

    // Removable again: the next run puts things right, without a word.
    let again = plugin.run(&["status", "--profile", &name]);
    again.expect_code(0).stderr_lacks("warning");
    assert!(!stale.exists());
    plugin.run(&["logout", "--profile", &name]).expect_code(0);
}

/// A session bus address whose socket accepts connections and never says a
/// word: a Secret Service that hangs.
fn silent_bus() -> (tempfile::TempDir, UnixListener, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bus");
    let listener = UnixListener::bind(&path).expect("bind the silent bus socket");
    let address = format!("unix:path={}", path.display());
    (dir, listener, address)
}

#[test]
fn a_hanging_keyring_is_a_clear_error_not_a_hang() {
    let (_dir, _listener, address) = silent_bus();
    let mut plugin = keyring_plugin("http://127.0.0.1:9");
    plugin
        .set("DBUS_SESSION_BUS_ADDRESS", &address)
        .set("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "700");
    let run = plugin.run(&["token"]);
    run.expect_code(5);
    run.stderr_has("did not answer within 700 ms");
    run.stderr_has("--store file");
}

#[test]
fn auto_falls_back_to_the_file_loudly_when_no_keyring_answers() {
    let (_dir, _listener, address) = silent_bus();
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    plugin
        .set("MINIMAX_PORTAL_AUTH_STORE", "auto")
        .set("DBUS_SESSION_BUS_ADDRESS", &address)
        .set("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "700");
    let run = plugin.login(&["--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["store"], "file");
    run.stderr_has("warning: no OS keyring answered");
    assert!(plugin.profile_file("default").exists());

    let status = plugin.run(&["status", "--json"]);
    status.expect_code(0);
    let out = status.json();
    assert_eq!(out["profiles"][0]["store"], "file");
    assert!(
        out["warnings"][0].as_str().unwrap().contains("plain-text"),
        "{out}"
    );
    assert_eq!(plugin.run(&["token"]).stdout, "acc-1\n");
}

#[test]
fn no_session_bus_at_all_is_reported_as_such() {
    let mut plugin = keyring_plugin("http://127.0.0.1:9");
    plugin.set(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/minimax-test-bus",
    );
    let run = plugin.run(&["token"]);
    run.expect_code(5);
    run.stderr_has("Secret Service is not reachable");
    // The connection error itself is reported, not the timeout's stand-in.
    run.stderr_lacks("did not answer");
}
