//! The host's side of the plugin: usage, doctor, and the API-key route.

use crate::support::cli::{Plugin, Run};
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::{MiniMax, MiniMaxState};
use crate::support::{dead_url, now_ms};
use serde_json::{Value, json};

/// One check of `doctor --json`'s output, by name.
fn check(out: &Value, name: &str) -> Value {
    out["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("doctor ran no {name} check: {out}"))
}

/// The Token Plan endpoint at the model base URL's origin, asked first.
const USAGE_PATH: &str = "/v1/token_plan/remains";
const CODING_PLAN_PATH: &str = "/v1/api/openplatform/coding_plan/remains";

fn remains() -> Value {
    let now = now_ms() as i64;
    json!({
        "model_remains": [{
            "model_name": "MiniMax-M2.7",
            "start_time": now - 3_600_000,
            "end_time": now + 14_400_000,
            "remains_time": 14_400_000,
            "current_interval_total_count": 1500,
            "current_interval_usage_count": 1200,
            "current_weekly_total_count": 10000,
            "current_weekly_usage_count": 9000,
            "weekly_end_time": now + 86_400_000,
        }],
        "base_resp": {"status_code": 0, "status_msg": "success"},
    })
}

/// A portal that also serves the usage endpoint, to the bearer token only.
fn portal_with_usage(
    usage: impl Fn() -> Reply + Send + Sync + 'static,
) -> (Portal, std::sync::Arc<MiniMaxState>) {
    let mm = MiniMax::new().build();
    let state = mm.clone();
    let portal = Portal::start(move |r| {
        if r.path == USAGE_PATH {
            if r.bearer() != Some("acc-1") {
                return Reply::json(
                    401,
                    json!({"base_resp": {"status_code": 1004, "status_msg": "Please carry the API secret key in the 'Authorization' field"}}),
                );
            }
            usage()
        } else {
            state.handle(r)
        }
    });
    (portal, mm)
}

#[test]
fn usage_shows_what_is_left_and_the_reset_time() {
    let (portal, _mm) = portal_with_usage(|| Reply::json(200, remains()));
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let run = plugin.run(&["usage", "--json"]);
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["plan"], "token_plan");
    let model = &out["models"][0];
    assert_eq!(model["model_name"], "MiniMax-M2.7");
    // current_interval_usage_count counts what is left.
    assert_eq!(model["interval"]["remaining"], 1200);
    assert_eq!(model["interval"]["total"], 1500);
    assert_eq!(model["interval"]["remaining_percent"], 80.0);
    assert!(model["interval"]["resets_at"].as_i64().unwrap() > now_ms() as i64);
    assert_eq!(model["weekly"]["remaining_percent"], 90.0);

    let human = plugin.run(&["usage"]);
    human.expect_code(0).stdout_has("80% left (1200 of 1500)");
    human.stdout_has("[########--]").stdout_has("this week");
    assert!(
        !run.all_output().contains("acc-1") && !human.all_output().contains("acc-1"),
        "the token leaked: {run:?}"
    );
    // The token went in the Authorization header, never in the URL, with
    // the headers OpenClaw sends.
    let request = portal.last(USAGE_PATH).unwrap();
    assert_eq!(request.query, "");
    assert_eq!(request.header("mm-api-source"), Some("OpenClaw"));
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[test]
fn usage_falls_back_to_the_coding_plan() {
    let mm = MiniMax::new().build();
    let state = mm.clone();
    let portal = Portal::start(move |r| match r.path.as_str() {
        CODING_PLAN_PATH => Reply::json(200, remains()),
        USAGE_PATH => Reply::not_found(),
        _ => state.handle(r),
    });
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let run = plugin.run(&["usage", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["plan"], "coding_plan");
}

#[test]
fn usage_errors_are_classified() {
    let (portal, _mm) = portal_with_usage(|| {
        Reply::json(
            200,
            json!({"base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}),
        )
    });
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    let run = plugin.run(&["usage"]);
    run.expect_code(1);
    run.stderr_has("insufficient balance");

    let (portal, _mm) = portal_with_usage(|| Reply::text(503, "text/html", "<html>down</html>"));
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    plugin.run(&["usage"]).expect_code(4);
}

/// A 408 from the usage endpoint is passing trouble (exit 4), as 429 and
/// 5xx are.
#[test]
fn a_408_from_usage_is_transient() {
    let (portal, _mm) = portal_with_usage(|| Reply::empty(408));
    let plugin = Plugin::new(&portal.url());
    plugin.login(&[]).expect_code(0);
    plugin
        .run(&["usage"])
        .expect_code(4)
        .stderr_has("could not report usage (HTTP 408)");
}

/// A portal whose `Date` header is `skew` away from the real time.
fn portal_with_clock(skew: chrono::Duration) -> Portal {
    let mm = MiniMax::new().build();
    Portal::start(move |r| {
        let date = (chrono::Utc::now() + skew).to_rfc2822();
        mm.handle(r).with_header("Date", &date)
    })
}

#[test]
fn doctor_passes_on_a_healthy_setup_and_checks_the_clock() {
    let portal = portal_with_clock(chrono::Duration::zero());
    let plugin = Plugin::new(&portal.url());
    plugin.login(&["--json"]).expect_code(0);
    let run = plugin.run(&["doctor", "--json"]);
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["ok"], true);
    let names: Vec<&str> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"state folder"), "{names:?}");
    assert!(
        names.contains(&"profile minimax-portal:default"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("portal")), "{names:?}");
    let clock = check(&out, "clock");
    assert_eq!(clock["status"], "pass", "{clock}");
}

#[test]
fn doctor_catches_a_skewed_clock() {
    let portal = portal_with_clock(chrono::Duration::minutes(-30));
    let plugin = Plugin::new(&portal.url());
    let run = plugin.run(&["doctor", "--json"]);
    run.expect_code(1);
    let out = run.json();
    let clock = check(&out, "clock");
    assert_eq!(clock["status"], "fail", "{clock}");
    assert!(
        clock["detail"].as_str().unwrap().contains("ahead of"),
        "{clock}"
    );
    assert!(
        clock["fix"].as_str().unwrap().contains("timedatectl"),
        "{clock}"
    );
}

#[test]
fn doctor_names_the_fix_for_each_failure() {
    let plugin = Plugin::new(&dead_url());
    std::fs::create_dir_all(plugin.home().join("profiles")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let profiles = plugin.home().join("profiles");
        std::fs::set_permissions(&profiles, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let host_config = plugin.home().join("host.json");
    std::fs::write(&host_config, r#"{"models":{"providers":{"anthropic":{}}},"agents":{"defaults":{"model":{"primary":"minimax-portal/MiniMax-M2.1"}}}}"#).unwrap();
    let run = plugin.run(&[
        "doctor",
        "--json",
        "--host-config",
        host_config.to_str().unwrap(),
    ]);
    run.expect_code(1);
    let out = run.json();
    // The fix is a bare command, else advice in the hint.
    let failed: Vec<(String, String)> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["fix"]
                    .as_str()
                    .or(c["hint"].as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let fix_of = |name: &str| {
        failed
            .iter()
            .find(|(n, _)| n.starts_with(name))
            .map(|(_, f)| f.clone())
    };
    assert!(
        fix_of("state folder").is_some_and(|f| f.starts_with("chmod 700")),
        "{failed:?}"
    );
    assert!(
        fix_of("portal").is_some_and(|f| f.contains("HTTPS_PROXY")),
        "{failed:?}"
    );
    assert!(
        fix_of("profiles").is_some_and(|f| f.contains("minimax-portal-auth login")),
        "{failed:?}"
    );
    assert!(
        fix_of("host config").is_some_and(|f| f == "minimax-portal-auth openclaw setup"),
        "{failed:?}"
    );
    assert!(run.stdout.contains("Unknown model"), "{}", run.stdout);
}

#[test]
fn doctor_finds_a_host_catalog_that_is_missing_models() {
    let (portal, _mm) = MiniMax::new().start();
    let plugin = Plugin::new(&portal.url());
    let login = plugin.login(&["--json"]);
    let mut patch = login.json()["config_patch"].clone();
    // A host config merged from an older catalog: M3 is missing.
    let models = patch["models"]["providers"]["minimax-portal"]["models"]
        .as_array_mut()
        .unwrap();
    models.retain(|m| m["id"] != "MiniMax-M3");
    let path = plugin.home().join("host.json");
    std::fs::write(&path, serde_json::to_vec(&patch).unwrap()).unwrap();
    let run = plugin.run(&["doctor", "--json", "--host-config", path.to_str().unwrap()]);
    run.expect_code(1);
    let catalog = check(&run.json(), "host catalog");
    assert_eq!(catalog["status"], "fail");
    assert!(
        catalog["detail"].as_str().unwrap().contains("MiniMax-M3"),
        "{catalog}"
    );
}

fn login_with_key(plugin: &Plugin, key: &str) -> Run {
    plugin.run_with_stdin(
        &["login", "--region", "cn", "--with-api-key", "--json"],
        key.as_bytes(),
    )
}

#[test]
fn an_api_key_from_stdin_is_stored_and_never_printed() {
    let plugin = Plugin::new(&dead_url());
    let key = "sk-cp-test-0123456789abcdef";
    let run = login_with_key(&plugin, &format!("{key}\n"));
    run.expect_code(0);
    assert!(!run.all_output().contains(key), "the key leaked: {run:?}");
    let out = run.json();
    assert_eq!(out["profile_id"], "minimax:default");
    assert_eq!(out["provider"], "minimax");
    assert_eq!(out["region"], "cn");
    assert_eq!(out["default_model"], "minimax/MiniMax-M3");
    let provider = &out["config_patch"]["models"]["providers"]["minimax"];
    assert_eq!(provider["api"], "anthropic-messages");
    assert!(
        provider["baseUrl"]
            .as_str()
            .unwrap()
            .ends_with("/anthropic")
    );
    assert_eq!(
        out["config_patch"]["auth"]["profiles"]["minimax:default"],
        json!({"provider": "minimax", "mode": "api_key"})
    );

    let stored: Value = serde_json::from_slice(
        &std::fs::read(plugin.home().join("api-keys/default.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["type"], "api_key");
    assert_eq!(stored["key"], key);
    assert_eq!(stored["region"], "cn");
    // The OAuth profile space is untouched.
    assert!(!plugin.profile_file("default").exists());
    // status lists it (without the key) and counts it as usable.
    let status = plugin.run(&["status", "--json"]);
    status.expect_code(0);
    assert_eq!(
        status.json_field("/api_keys/0/profile_id"),
        "minimax:default"
    );
    assert_eq!(status.json_field("/api_keys/0/region"), "cn");
    assert!(!status.all_output().contains(key));

    let logout = plugin.run(&["logout", "--api-key", "--json"]);
    assert_eq!(logout.json()["removed"], true, "{logout:?}");
    assert!(!plugin.home().join("api-keys/default.json").exists());
}

#[test]
fn a_bad_api_key_is_a_usage_error() {
    let plugin = Plugin::new(&dead_url());
    for bad in ["", "\n", "two words here", "short"] {
        let run = login_with_key(&plugin, bad);
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
    }
    assert!(!plugin.home().join("api-keys/default.json").exists());
}
