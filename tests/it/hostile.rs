//! Never lose a session: the real binary against a hostile portal, a full
//! disk, a read-only folder, a hanging keyring and another local user.

use crate::support;
use crate::support::cli::{BIN, Plugin, finish};
use crate::support::http_server::Reply;
use crate::support::minimax::{MiniMax, TOKEN_PATH};
use crate::support::profile::{login_json, stored, write_profile};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Writes a profile of `default` into the file store, issued by `base`, its
/// access token living `left_ms` more. Returns the bytes written. The access
/// token is long enough that a leak of it is unmistakable.
fn seed(plugin: &Plugin, base: &str, refresh: &str, left_ms: i64) -> Vec<u8> {
    let mut profile = login_json(
        "default",
        &format!("{base}{TOKEN_PATH}"),
        refresh,
        left_ms,
        "global",
    );
    profile["access"] = json!("acc-old-0123456789");
    let bytes = serde_json::to_vec(&profile).expect("profile JSON");
    write_profile(plugin, "default", &bytes);
    bytes
}

/// What a refresh answer must do to `token` and `refresh`.
struct Row {
    what: &'static str,
    reply: Reply,
    /// Exit code of `refresh` and of `token` on an expired profile.
    code: i32,
    /// Does the stored profile change (new tokens kept, or marked)?
    changes: bool,
    /// The new refresh token the stored profile must then hold.
    keeps: Option<&'static str>,
}

fn tokens_body(access: &str, refresh: &str, rest: &str) -> String {
    format!(r#"{{"status":"success","access_token":"{access}","refresh_token":"{refresh}"{rest}}}"#)
}

fn json_reply(status: u16, body: &str) -> Reply {
    Reply::text(status, "application/json", body.to_string())
}

fn rows() -> Vec<Row> {
    let mut rows = vec![
        // 1. What is not a rejection of the grant never logs anyone out.
        Row {
            what: "CDN 403 page",
            reply: Reply::text(403, "text/html", "<html><body>Access denied</body></html>"),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "empty 401",
            reply: Reply::empty(401),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "temporarily_unavailable",
            reply: json_reply(400, r#"{"error":"temporarily_unavailable"}"#),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "server_error",
            reply: json_reply(400, r#"{"error":"server_error"}"#),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "rate limit as status error",
            reply: json_reply(
                200,
                r#"{"status":"error","base_resp":{"status_code":1002,"status_msg":"rate limit exceeded, retry later"}}"#,
            ),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "slow_down",
            reply: json_reply(400, r#"{"error":"slow_down"}"#),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "authorization_pending",
            reply: json_reply(400, r#"{"error":"authorization_pending"}"#),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "408",
            reply: Reply::empty(408),
            code: 4,
            changes: false,
            keeps: None,
        },
        // Transient codes and wording win over words like "refresh" and
        // "invalid"; a proxy's access_denied is not about the grant.
        Row {
            what: "1013 refresh failed, try again later",
            reply: json_reply(
                200,
                r#"{"status":"error","base_resp":{"status_code":1013,"status_msg":"refresh failed: invalid upstream response, try again later"}}"#,
            ),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "access_denied by an egress proxy",
            reply: json_reply(
                403,
                r#"{"error":"access_denied","error_description":"blocked by egress policy"}"#,
            ),
            code: 1,
            changes: false,
            keeps: None,
        },
        Row {
            what: "403 rate limited",
            reply: json_reply(403, r#"{"message":"rate limited, try later"}"#),
            code: 4,
            changes: false,
            keeps: None,
        },
        Row {
            what: "invalid_client",
            reply: json_reply(401, r#"{"error":"invalid_client"}"#),
            code: 1,
            changes: false,
            keeps: None,
        },
        Row {
            what: "invalid_grant",
            reply: json_reply(
                400,
                r#"{"error":"invalid_grant","error_description":"refresh token revoked"}"#,
            ),
            code: 3,
            changes: true,
            keeps: None,
        },
    ];
    // 2. Not strict JSON, with new tokens inside: kept, never quoted.
    for (what, rest) in [
        ("NaN expiry", r#","expired_in":NaN"#),
        ("Infinity expiry", r#","expired_in":Infinity"#),
        ("1e400 expiry", r#","expired_in":1e400"#),
        ("token in the expiry", r#","expired_in":"x{ACCESS}""#),
    ] {
        let n = rows.len();
        let access: &'static str = Box::leak(format!("acc-new-{n}-0123456789").into_boxed_str());
        let refresh: &'static str = Box::leak(format!("ref-new-{n}-0123456789").into_boxed_str());
        let rest = rest.replace("{ACCESS}", access);
        rows.push(Row {
            what,
            reply: json_reply(200, &tokens_body(access, refresh, &rest)),
            code: 0,
            changes: true,
            keeps: Some(refresh),
        });
    }
    rows.push(Row {
        what: "cut short by a proxy",
        reply: json_reply(200, &tokens_body("acc-cut-0123456789", "ref-cut-0123456789", r#","expired_in":3600,"token_type":"Bearer","resource_url":"https://api.minimax.io/anthropic","padding":"................................................................................................""#)).truncated(),
        code: 0, changes: true, keeps: Some("ref-cut-0123456789"),
    });
    rows.push(Row {
        what: "cut inside the tokens",
        reply: json_reply(
            200,
            &format!(
                "{}{}",
                tokens_body("acc-cutin-0123456789", "ref-cutin-0123456789", ""),
                " ".repeat(10)
            ),
        )
        .truncated(),
        code: 4,
        changes: false,
        keeps: None,
    });
    // 3. Odd side fields: the tokens are kept.
    for (what, rest) in [
        ("expiry 3600.0", r#","expired_in":3600.0"#),
        ("expiry -5", r#","expired_in":-5"#),
        ("expiry 0", r#","expired_in":0"#),
        ("expiry 1e17", r#","expired_in":1e17"#),
        ("no expiry", ""),
        (
            "http resource_url",
            r#","expired_in":3600,"resource_url":"http://evil.example/anthropic""#,
        ),
    ] {
        let n = rows.len();
        let access: &'static str = Box::leak(format!("acc-odd-{n}-0123456789").into_boxed_str());
        let refresh: &'static str = Box::leak(format!("ref-odd-{n}-0123456789").into_boxed_str());
        rows.push(Row {
            what,
            reply: json_reply(200, &tokens_body(access, refresh, rest)),
            code: 0,
            changes: true,
            keeps: Some(refresh),
        });
    }
    rows.push(Row {
        what: "status Success",
        reply: json_reply(
            200,
            &tokens_body(
                "acc-cap-0123456789",
                "ref-cap-0123456789",
                r#","expired_in":3600"#,
            )
            .replace("success", "Success"),
        ),
        code: 0,
        changes: true,
        keeps: Some("ref-cap-0123456789"),
    });
    // 4. A usable refresh token beside an unusable access token: the new
    // refresh token is kept, the bad access token never handed out, and
    // the profile is due at once (exit 4: try again).
    for (what, access) in [
        ("access token a number", "12345"),
        ("access token empty", r#""""#),
        ("access token with a space", r#""acc-sp ace-0123456789""#),
        (
            "access token with shell syntax",
            r#""acc-sh\\';id;#0123456789""#,
        ),
    ] {
        let n = rows.len();
        let refresh: &'static str = Box::leak(format!("ref-bad-{n}-0123456789").into_boxed_str());
        rows.push(Row {
            what,
            reply: json_reply(
                200,
                &format!(r#"{{"status":"success","access_token":{access},"refresh_token":"{refresh}","expired_in":3600}}"#),
            ),
            code: 4,
            changes: true,
            keeps: Some(refresh),
        });
    }
    rows.push(Row {
        what: "empty refresh_token",
        reply: json_reply(200, r#"{"status":"success","access_token":"acc-empty-0123456789","refresh_token":"","expired_in":3600}"#),
        code: 0, changes: true, keeps: Some("ref-seed-0123456789"),
    });
    rows
}

/// Every secret a row's answer carries, and the seeded one.
fn secrets_of(reply: &Reply) -> Vec<String> {
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    let mut found = vec![
        "ref-seed-0123456789".to_string(),
        "acc-old-0123456789".to_string(),
    ];
    for word in text.split(['"', ':', ',', '{', '}']) {
        if (word.starts_with("acc-") || word.starts_with("ref-") || word.starts_with("xacc-"))
            && word.len() > 12
        {
            found.push(word.trim_start_matches('x').to_string());
        }
    }
    found
}

#[test]
fn hostile_refresh_answers_never_lose_the_session_or_leak_a_token() {
    let mut failures = Vec::new();
    for row in rows() {
        let (portal, _mm) = MiniMax::new()
            .refresh_replies(vec![row.reply.clone()])
            .start();
        let plugin = Plugin::new(&portal.url());
        let secrets = secrets_of(&row.reply);

        // The start-up hook on an expired profile.
        let before = seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
        let run = plugin.run(&["refresh", "--json"]);
        let after = std::fs::read(plugin.profile_file("default")).unwrap();
        let mut problems = Vec::new();
        if run.code != row.code {
            problems.push(format!("refresh exit {} (want {})", run.code, row.code));
        }
        if (after != before) != row.changes {
            problems.push(format!("profile changed: {}", after != before));
        }
        if let Some(refresh) = row.keeps
            && stored(&plugin, "default")["refresh"] != refresh
        {
            problems.push(format!(
                "stored refresh {} (want {refresh})",
                stored(&plugin, "default")["refresh"]
            ));
        }
        for secret in &secrets {
            if run.all_output().contains(secret.as_str()) {
                problems.push(format!("refresh leaked {secret}"));
            }
        }
        let marked = stored(&plugin, "default")["needs_login"] == true;
        if marked != (row.code == 3) {
            problems.push(format!("needs_login is {marked}"));
        }

        // `token` on an expired profile: the same class; stderr clean.
        seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
        let token = plugin.run(&["token"]);
        if token.code != row.code {
            problems.push(format!("token exit {} (want {})", token.code, row.code));
        }
        for secret in &secrets {
            if token.stderr.contains(secret.as_str()) {
                problems.push(format!("token leaked {secret} on stderr"));
            }
        }

        // With 50 minutes left, `token` still serves, whatever the portal
        // says; except after a rotation without a usable access token (the
        // old one may be revoked by then, so it is not handed out).
        let rotated_without_access = row.changes && row.code == 4;
        seed(&plugin, &portal.url(), "ref-seed-0123456789", 3_000_000);
        let token = plugin.run(&["token", "--margin", "3600"]);
        if token.code != 0 && !rotated_without_access {
            problems.push(format!("token with 50 min left exit {}", token.code));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    {run:?}",
                row.what,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_429_passes_its_retry_after_to_the_host() {
    let (portal, _mm) = MiniMax::new()
        .refresh_replies(vec![json_reply(429, "{}").with_header("Retry-After", "42")])
        .start();
    let plugin = Plugin::new(&portal.url());
    let before = seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    let run = plugin.run(&["refresh", "--json"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json()["profiles"][0]["retry_after"], 42);
    let token = plugin.run(&["token", "--json"]);
    assert_eq!(token.json()["error"]["retry_after"], 42, "{token:?}");
    assert_eq!(
        std::fs::read(plugin.profile_file("default")).unwrap(),
        before
    );
}

/// Runs the plugin with a shell prelude (a resource limit, a closed stream)
/// and the plugin's usual environment.
fn run_with_prelude(plugin: &Plugin, prelude: &str, args: &[&str]) -> support::cli::Run {
    let mut shell = Command::new("bash");
    shell
        .arg("-c")
        .arg(format!("{prelude}; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    plugin.apply_env(&mut shell);
    shell
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    finish(shell.spawn().expect("spawn bash"))
}

#[test]
fn a_full_disk_is_found_out_before_the_refresh_token_is_spent() {
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed-0123456789").start();
    let plugin = Plugin::new(&portal.url());
    let before = seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    // No byte may be written to any file: what a full disk does to a write.
    let run = run_with_prelude(&plugin, "trap '' XFSZ; ulimit -f 0", &["refresh", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("disk space"), "{}", run.stderr);
    assert_eq!(mm.refresh_count(), 0, "the refresh token was spent");
    assert_eq!(
        std::fs::read(plugin.profile_file("default")).unwrap(),
        before
    );
    assert!(mm.is_live("ref-seed-0123456789"));
}

/// True when this process is root: permissions do not stop root, so the
/// plugin then runs as `nobody` for the permission tests.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[cfg(unix)]
#[test]
fn a_read_only_profiles_folder_is_found_out_before_the_refresh_token_is_spent() {
    use std::os::unix::fs::PermissionsExt;
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed-0123456789").start();
    let plugin = Plugin::new(&portal.url());
    let before = seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    // The lock file already exists, and opens for writing.
    std::fs::create_dir_all(plugin.home().join("locks")).unwrap();
    std::fs::write(plugin.home().join("locks/minimax-portal.default.lock"), b"").unwrap();
    let prelude = if is_root() {
        let home = plugin.home().display().to_string();
        assert!(
            Command::new("chown")
                .args(["-R", "65534:65534", &home])
                .status()
                .unwrap()
                .success()
        );
        "exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" \"$@\"; :"
    } else {
        ":"
    };
    std::fs::set_permissions(
        plugin.home().join("profiles"),
        std::fs::Permissions::from_mode(0o500),
    )
    .unwrap();
    let run = run_with_prelude(&plugin, prelude, &["refresh", "--json"]);
    std::fs::set_permissions(
        plugin.home().join("profiles"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(mm.refresh_count(), 0, "the refresh token was spent");
    assert_eq!(
        std::fs::read(plugin.profile_file("default")).unwrap(),
        before
    );
}

#[cfg(unix)]
#[test]
fn a_state_folder_of_another_user_or_open_to_writers_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (portal, mm) = MiniMax::new().refresh_token("ref-seed-0123456789").start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", 3_600_000);
    // Others may write to it: anything in it may be planted.
    std::fs::set_permissions(plugin.home(), std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [&["token"][..], &["refresh", "--force"], &["logout"]] {
        let run = plugin.run(args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("not safe for secrets"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("fix: chmod 700"), "{}", run.stderr);
        assert!(!run.stdout.contains("acc-old"), "a planted token was used");
    }
    let doctor = plugin.run(&["doctor", "--json"]);
    assert_eq!(doctor.code, 1, "{doctor:?}");
    std::fs::set_permissions(plugin.home(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        plugin.profile_file("default").exists(),
        "the profile was not deleted"
    );
    // Another user owns it.
    if is_root() {
        let home = plugin.home().display().to_string();
        assert!(
            Command::new("chown")
                .args(["65534", &home])
                .status()
                .unwrap()
                .success()
        );
        let run = plugin.run(&["token"]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains("belongs to user id 65534"),
            "{}",
            run.stderr
        );
        // Not `chown -R`, which would adopt whatever the other user put there.
        assert!(!run.stderr.contains("chown"), "{}", run.stderr);
        assert!(run.stderr.contains(".not-mine"), "{}", run.stderr);
        assert!(
            Command::new("chown")
                .args(["0", &home])
                .status()
                .unwrap()
                .success()
        );
    }
    assert_eq!(mm.refresh_count(), 0);
}

#[cfg(unix)]
#[test]
fn symlinks_and_fifos_in_the_state_folder_are_refused_not_followed() {
    let (portal, _mm) = MiniMax::new().refresh_token("ref-seed-0123456789").start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    let locks = plugin.home().join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let target = tempfile::tempdir().unwrap();
    let planted = target.path().join("created-by-the-victim");
    std::os::unix::fs::symlink(&planted, locks.join("minimax-portal.default.lock")).unwrap();
    let run = plugin.run(&["refresh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!planted.exists(), "the lock symlink was followed");
    std::fs::remove_file(locks.join("minimax-portal.default.lock")).unwrap();

    // A FIFO in place of the profile or the lock: an error, never a hang.
    let fifo = |path: &std::path::Path| {
        assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    };
    fifo(&locks.join("minimax-portal.default.lock"));
    let run = plugin.run(&["refresh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    std::fs::remove_file(locks.join("minimax-portal.default.lock")).unwrap();
    std::fs::remove_file(plugin.profile_file("default")).unwrap();
    fifo(&plugin.profile_file("default"));
    let run = plugin.run(&["token"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);

    // A huge keyring index (or /dev/zero behind it) is not read whole.
    std::fs::remove_file(plugin.profile_file("default")).unwrap();
    std::os::unix::fs::symlink(
        "/dev/zero",
        plugin.home().join("keyring-index.minimax-portal.json"),
    )
    .unwrap();
    let run = plugin.run(&["status", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn leftover_temp_files_are_swept_and_logout_leaves_none() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", 3_600_000);
    let leftover = plugin.home().join("profiles/.default.json.tmp-crash1");
    std::fs::write(&leftover, b"        ").unwrap();
    assert_eq!(plugin.run(&["status"]).code, 0);
    assert!(!leftover.exists(), "status did not sweep");
    std::fs::write(&leftover, b"{\"refresh\":\"ref-live-0123456789\"}").unwrap();
    assert_eq!(plugin.run(&["logout"]).code, 0);
    let left: Vec<_> = std::fs::read_dir(plugin.home().join("profiles"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn short_lived_tokens_refresh_once_not_on_every_call() {
    let (portal, mm) = MiniMax::new()
        .refresh_token("ref-seed-0123456789")
        .token_expired_in(60)
        .refresh_delay(Duration::from_millis(200))
        .start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    for _ in 0..10 {
        assert_eq!(plugin.run(&["token"]).code, 0);
    }
    assert_eq!(mm.refresh_count(), 1, "ten calls, one rotation");

    // 24 processes on a due profile: one refresh, the rest use its token.
    seed(
        &plugin,
        &portal.url(),
        mm.live_refresh_tokens()[0].as_str(),
        -1_000,
    );
    let children: Vec<_> = (0..24).map(|_| plugin.spawn(&["token"])).collect();
    let runs: Vec<_> = children.into_iter().map(finish).collect();
    assert!(runs.iter().all(|r| r.code == 0), "{runs:?}");
    assert_eq!(mm.refresh_count(), 2);
}

#[test]
fn overflowing_numbers_and_closed_streams_never_panic() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", 3_600_000);
    let run = plugin.run(&["status", "--margin", "18446744073709551615"]);
    assert!(run.code == 0 || run.code == 1, "{run:?}");
    let mut profile = stored(&plugin, "default");
    profile["expires"] = json!(i64::MIN);
    std::fs::write(
        plugin.profile_file("default"),
        serde_json::to_vec(&profile).unwrap(),
    )
    .unwrap();
    for args in [
        &["status", "--json"][..],
        &["refresh", "--json"],
        &["doctor"],
    ] {
        let run = plugin.run(args);
        assert_ne!(run.code, 101, "{args:?} panicked: {run:?}");
    }
    // stderr closed, and stderr a pipe nobody reads.
    let closed = run_with_prelude(&plugin, "exec 2>&-", &["refresh"]);
    assert_ne!(closed.code, 101, "{closed:?}");
    let mut child = plugin
        .command(&["status"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(101));

    // `token` fails when its answer cannot be written.
    seed(&plugin, &portal.url(), "ref-seed-0123456789", 3_600_000);
    let full = run_with_prelude(&plugin, "exec >/dev/full", &["token"]);
    assert_eq!(full.code, 1, "{full:?}");
    assert!(full.stderr.contains("standard output"), "{}", full.stderr);
}

#[test]
fn an_untrusted_certificate_is_a_failure_with_the_fix_not_a_passing_problem() {
    // A TLS server whose certificate nobody trusts: openssl s_server.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept", &port.to_string()])
        .arg("-key")
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let url = format!("https://127.0.0.1:{port}");
    let plugin = Plugin::new(&url);
    seed(&plugin, &url, "ref-seed-0123456789", -1_000);
    let run = plugin.run(&["refresh", "--json"]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("SSL_CERT_FILE"), "{}", run.stderr);
}

/// A session bus whose socket accepts connections and never answers: a
/// Secret Service that hangs.
fn silent_bus() -> (tempfile::TempDir, std::os::unix::net::UnixListener, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let address = format!("unix:path={}", path.display());
    (dir, listener, address)
}

#[test]
fn auto_with_a_hanging_keyring_tells_the_host_the_truth() {
    let (_dir, _listener, address) = silent_bus();
    let mut plugin = Plugin::new("http://127.0.0.1:9");
    plugin
        .set("MINIMAX_PORTAL_AUTH_STORE", "auto")
        .set("DBUS_SESSION_BUS_ADDRESS", &address)
        .set("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "500");
    // The index says the keyring holds `default`.
    let index = plugin.home().join("keyring-index.minimax-portal.json");
    std::fs::write(&index, br#"{"default": 1700000000000}"#).unwrap();

    let token = plugin.run(&["token"]);
    assert_eq!(token.code, 5, "not 'no profile stored': {token:?}");
    assert!(token.stderr.contains("keyring"), "{}", token.stderr);

    let hook = plugin.run(&["refresh", "--all", "--json"]);
    assert_eq!(hook.code, 5, "{hook:?}");
    let rows = hook.json()["profiles"].clone();
    assert_eq!(rows[0]["profile_id"], "minimax-portal:default", "{rows}");
    assert_eq!(rows[0]["outcome"], "store_unavailable", "{rows}");

    let logout = plugin.run(&["logout"]);
    assert_eq!(logout.code, 5, "{logout:?}");
    let kept: Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    assert!(
        kept.get("default").is_some(),
        "the index lost the entry: {kept}"
    );
}

/// One wrongly typed entry in the keyring index hid every entry, so a
/// keyring that does not answer read as "no profile" (exit 3), not 5.
#[test]
fn a_damaged_index_entry_hides_no_other() {
    let (_dir, _listener, address) = silent_bus();
    let mut plugin = Plugin::new("http://127.0.0.1:9");
    plugin
        .set("MINIMAX_PORTAL_AUTH_STORE", "auto")
        .set("DBUS_SESSION_BUS_ADDRESS", &address)
        .set("MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS", "500");
    let index = plugin.home().join("keyring-index.minimax-portal.json");
    std::fs::write(&index, br#"{"default": 1700000000000, "work": "x"}"#).unwrap();
    for args in [&["token"][..], &["token", "-p", "work"]] {
        let run = plugin.run(args);
        assert_eq!(run.code, 5, "{args:?}: {run:?}");
    }
}

#[test]
fn a_stale_keyring_copy_never_wins_over_a_newer_one() {
    if !support::real_keyring() {
        return;
    }
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    let name = format!("stale-{}", std::process::id());
    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "keyring");
    assert_eq!(plugin.login(&["--profile", &name]).code, 0);
    // A newer copy saved in the file while the keyring did not answer.
    let mut newer: Value = serde_json::from_str(
        &String::from_utf8(
            Command::new("secret-tool")
                .args(["lookup", "service", "minimax-portal-auth", "username"])
                .arg(format!("minimax-portal:{name}"))
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    )
    .unwrap();
    newer["access"] = json!("acc-newer-0123456789");
    newer["updated_at"] = json!(newer["updated_at"].as_i64().unwrap() + 1000);
    std::fs::create_dir_all(plugin.home().join("profiles")).unwrap();
    std::fs::write(
        plugin.profile_file(&name),
        serde_json::to_vec(&newer).unwrap(),
    )
    .unwrap();

    plugin.set("MINIMAX_PORTAL_AUTH_STORE", "auto");
    let token = plugin.run(&["token", "--profile", &name]);
    assert_eq!(token.stdout, "acc-newer-0123456789\n", "{token:?}");
    let left = Command::new("secret-tool")
        .args(["lookup", "service", "minimax-portal-auth", "username"])
        .arg(format!("minimax-portal:{name}"))
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the stale keyring copy is still there"
    );
    assert_eq!(plugin.run(&["logout", "--profile", &name]).code, 0);
}

#[test]
fn sigint_at_the_region_prompt_ends_it_at_once_and_restores_the_terminal() {
    let plugin = Plugin::new("http://127.0.0.1:9");
    let mut tty = support::tty::Tty::spawn(&plugin, &["login", "--no-browser"], 80);
    tty.wait_for("region", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    tty.signal("INT");
    let (code, screen) = tty.finish(Duration::from_secs(5));
    assert_eq!(code, 130, "{screen}");
    let modes = support::tty::modes_after(&screen);
    assert!(
        modes.contains(" icanon") && modes.contains(" echo "),
        "{modes}"
    );
}

#[test]
fn ctrl_c_at_the_api_key_prompt_exits_130_with_echo_back_on() {
    let plugin = Plugin::new("http://127.0.0.1:9");
    let mut tty = support::tty::Tty::spawn(
        &plugin,
        &["login", "--region", "global", "--with-api-key"],
        80,
    );
    tty.wait_for("API key", Duration::from_secs(20));
    tty.type_keys(b"sk-half-typed\x03");
    let (code, screen) = tty.finish(Duration::from_secs(5));
    assert_eq!(code, 130, "{screen}");
    let modes = support::tty::modes_after(&screen);
    assert!(modes.contains(" echo "), "echo left off: {modes}");
    assert!(!screen.contains("sk-half-typed"), "{screen}");
}

/// `expired_in: 999999999` (11,574 days) is believed for 30 days at most,
/// with a warning: the profile is refreshed again within the month.
#[test]
fn a_far_future_expiry_is_believed_for_30_days_at_most() {
    let reply = json_reply(
        200,
        &tokens_body(
            "acc-far-0123456789",
            "ref-far-0123456789",
            r#","expired_in":999999999"#,
        ),
    );
    let (portal, _mm) = MiniMax::new().refresh_replies(vec![reply]).start();
    let plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    let run = plugin.run(&["refresh"]);
    run.expect_code(0).stderr_has("taken to live 30 days");
    let expires = stored(&plugin, "default")["expires"].as_i64().unwrap();
    let month = 30 * 24 * 3600 * 1000;
    let now = i64::try_from(support::now_ms()).unwrap();
    assert!(
        expires <= now + month,
        "{expires} is more than 30 days away"
    );
    assert!(expires > now + month - 600_000, "{expires}");
}

/// A relative state folder would put tokens wherever the command runs:
/// a relative MINIMAX_PORTAL_AUTH_HOME or HOME is an error (exit 2) that
/// names the variable; a relative XDG_STATE_HOME is ignored (XDG spec).
#[test]
fn relative_state_folders_are_refused_or_ignored() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    let cwd = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let run_in = |vars: &[(&str, &str)]| {
        let mut cmd = plugin.command(&["status"]);
        cmd.current_dir(cwd.path())
            .env_remove("MINIMAX_PORTAL_AUTH_HOME")
            .env_remove("XDG_STATE_HOME");
        for (name, value) in vars {
            cmd.env(name, value);
        }
        support::cli::finish(cmd.spawn().unwrap())
    };
    let home_path = home.path().to_str().unwrap();
    for (vars, name) in [
        (
            vec![("MINIMAX_PORTAL_AUTH_HOME", "state"), ("HOME", home_path)],
            "MINIMAX_PORTAL_AUTH_HOME",
        ),
        (vec![("HOME", "relative-home")], "HOME"),
    ] {
        let run = run_in(&vars);
        run.expect_code(2)
            .stderr_has(&format!("{name} is a relative path"));
    }
    let run = run_in(&[("XDG_STATE_HOME", "xdg"), ("HOME", home_path)]);
    assert_ne!(run.code, 2, "{run:?}");
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "state was put in the working folder: {left:?}"
    );
}

/// SSL_CERT_FILE=/dev/zero would be read without end (memory grows until
/// the process dies); `doctor --host-config` on a FIFO would wait for a
/// writer forever. Both are refused at once, naming what is wrong.
#[test]
fn devices_and_fifos_given_as_files_are_refused_not_read() {
    let (portal, _mm) = MiniMax::new().start();
    let mut plugin = Plugin::new(&portal.url());
    seed(&plugin, &portal.url(), "ref-seed-0123456789", -1_000);
    plugin.set("SSL_CERT_FILE", "/dev/zero");
    let run = plugin.run(&["refresh"]);
    run.expect_code(1)
        .stderr_has("SSL_CERT_FILE (/dev/zero) is not a regular file");

    plugin.set("SSL_CERT_FILE", "");
    let fifo = plugin.home().join("host.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let run = plugin.run(&["doctor", "--host-config", fifo.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.all_output().contains("not a regular file"), "{run:?}");
}

/// A folder is only as safe as its parents: in a parent anyone may write
/// to (and that is not sticky), another user can swap the state folder.
#[test]
fn a_parent_folder_open_to_writers_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (portal, mm) = MiniMax::new().start();
    let outer = tempfile::tempdir().unwrap();
    let open = outer.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let state = open.join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut plugin = Plugin::new(&portal.url());
    plugin.set("MINIMAX_PORTAL_AUTH_HOME", state.to_str().unwrap());
    let mut cmd = plugin.command(&["token"]);
    cmd.env("MINIMAX_PORTAL_AUTH_HOME", &state);
    let run = support::cli::finish(cmd.spawn().unwrap());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("not sticky"), "{}", run.stderr);
    assert!(run.stderr.contains("chmod o-w"), "{}", run.stderr);
    // Sticky, like /tmp: others cannot rename what is not theirs.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut cmd = plugin.command(&["token"]);
    cmd.env("MINIMAX_PORTAL_AUTH_HOME", &state);
    let run = support::cli::finish(cmd.spawn().unwrap());
    assert!(!run.stderr.contains("not safe for secrets"), "{run:?}");
    assert_eq!(mm.refresh_count(), 0);
}
