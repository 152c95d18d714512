//! docs/json.md documents one example per `--json` shape; this holds each
//! example to what the real binary prints, key by key, and both to the
//! library's struct for that shape (`minimax_portal_auth::json`): each is
//! read into the struct, unknown keys refused, and must come back out of it
//! unchanged, so no key is missing either.

use crate::support::cli::{Plugin, Run};
use crate::support::dead_url;
use crate::support::fits;
use crate::support::http_server::{Portal, Reply};
use crate::support::minimax::MiniMax;
use crate::support::profile::write_profile;
use minimax_portal_auth::json;
use serde_json::Value;
use std::collections::BTreeMap;

/// The examples in docs/json.md, by the name in their `<!-- shape: NAME -->` marker.
fn documented() -> BTreeMap<String, Value> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md"))
        .expect("read docs/json.md");
    let mut shapes = BTreeMap::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("<!-- shape: ") {
        rest = &rest[start + "<!-- shape: ".len()..];
        let name_end = rest.find(" -->").expect("a shape marker ends with -->");
        let name = rest[..name_end].to_string();
        let body_start = rest
            .find("```json\n")
            .unwrap_or_else(|| panic!("no ```json block after shape {name}"))
            + "```json\n".len();
        let body_end = body_start
            + rest[body_start..]
                .find("```")
                .unwrap_or_else(|| panic!("the ```json block of shape {name} never ends"));
        let value: Value = serde_json::from_str(&rest[body_start..body_end])
            .unwrap_or_else(|e| panic!("README example {name} is not JSON: {e}"));
        shapes.insert(name, value);
        rest = &rest[body_end..];
    }
    shapes
}

/// Keys holding ids (model refs, profile ids) vary; the rest must match.
fn is_dynamic(key: &str) -> bool {
    key.contains('/') || key.contains(':')
}

fn same_shape(doc: &Value, real: &Value, at: &str) -> Result<(), String> {
    match (doc, real) {
        (Value::Null, _) | (_, Value::Null) => Ok(()),
        (Value::Object(d), Value::Object(r)) => {
            let fixed = |m: &serde_json::Map<String, Value>| -> Vec<String> {
                m.keys().filter(|k| !is_dynamic(k)).cloned().collect()
            };
            let (dk, rk) = (fixed(d), fixed(r));
            if dk != rk {
                return Err(format!(
                    "{at}: README has keys {dk:?}, the binary prints {rk:?}"
                ));
            }
            for key in dk {
                same_shape(&d[&key], &r[&key], &format!("{at}.{key}"))?;
            }
            let first_dynamic = |m: &serde_json::Map<String, Value>| {
                m.iter()
                    .find(|(k, _)| is_dynamic(k))
                    .map(|(_, v)| v.clone())
            };
            match (first_dynamic(d), first_dynamic(r)) {
                (Some(dv), Some(rv)) => same_shape(&dv, &rv, &format!("{at}.<id>")),
                (None, None) => Ok(()),
                _ => Err(format!(
                    "{at}: one side has id-keyed entries, the other none"
                )),
            }
        }
        (Value::Array(d), Value::Array(r)) => match (d.first(), r.first()) {
            (Some(dv), Some(rv)) => same_shape(dv, rv, &format!("{at}[0]")),
            _ => Ok(()),
        },
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => Err(format!("{at}: README has {doc}, the binary prints {real}")),
    }
}

/// The shape's struct in `minimax_portal_auth::json`, checked by [`fits`].
fn matches_struct(shape: &str, value: &Value) -> Result<(), String> {
    match shape {
        "login" => fits::<json::LoginOutput>(value),
        "login-api-key" => fits::<json::ApiKeyLoginOutput>(value),
        "token" => fits::<json::TokenOutput>(value),
        "refresh" => fits::<json::RefreshOutput>(value),
        "status" => fits::<json::StatusOutput>(value),
        "logout" => fits::<json::LogoutRow>(value),
        "usage" => fits::<json::UsageOutput>(value),
        "doctor" => fits::<json::DoctorOutput>(value),
        "error" => fits::<json::ErrorOutput>(value),
        _ => Err(format!("no struct is named for shape {shape}")),
    }
}

/// Runs every command once and collects its `--json` output.
fn actual() -> BTreeMap<String, Value> {
    let mm = MiniMax::new().build();
    let state = mm.clone();
    let portal = Portal::start(move |r| {
        if r.path == "/v1/api/openplatform/coding_plan/remains" {
            Reply::json(
                200,
                serde_json::json!({"model_remains": [{"model_name": "MiniMax-M2.7", "start_time": 1, "end_time": 2, "remains_time": 3, "current_interval_total_count": 4, "current_interval_usage_count": 5}], "base_resp": {"status_code": 0, "status_msg": "success"}}),
            )
        } else {
            state.handle(r)
        }
    });
    let plugin = Plugin::new(&portal.url());
    let mut out = BTreeMap::new();
    let mut take = |name: &str, run: Run| {
        let value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {run:?}"));
        out.insert(name.to_string(), value);
    };
    take("login", plugin.login(&["--json"]));
    take("token", plugin.run(&["token", "--json"]));
    take("refresh", plugin.run(&["refresh", "--all", "--json"]));
    take("status", plugin.run(&["status", "--json"]));
    take("usage", plugin.run(&["usage", "--json"]));
    take("doctor", plugin.run(&["doctor", "--json"]));
    take("logout", plugin.run(&["logout", "--json"]));
    take("error", plugin.run(&["token", "--json"]));
    take(
        "login-api-key",
        plugin.run_with_stdin(
            &["login", "--region", "cn", "--with-api-key", "--json"],
            b"sk-readme-example-key",
        ),
    );

    // The failure rows of refresh and status have the success rows' keys.
    let broken = Plugin::new(&dead_url());
    write_profile(&broken, "default", b"{not a profile");
    let refresh = broken.run(&["refresh", "--all", "--json"]);
    let status = broken.run(&["status", "--json"]);
    out.insert("refresh (failure)".into(), refresh.json());
    out.insert("status (failure)".into(), status.json());
    out
}

#[test]
fn every_json_shape_in_the_readme_matches_the_binary() {
    let documented = documented();
    let actual = actual();
    for (name, real) in &actual {
        let doc_name = name.split(' ').next().unwrap();
        let doc = documented
            .get(doc_name)
            .unwrap_or_else(|| panic!("README documents no {doc_name} shape"));
        if let Err(why) = same_shape(doc, real, doc_name) {
            panic!("{name}: {why}\nREADME: {doc}\nbinary: {real}");
        }
        if let Err(why) = matches_struct(doc_name, real) {
            panic!("{name}: the binary's output does not fit its struct: {why}\nbinary: {real}");
        }
    }
    for (name, doc) in &documented {
        if let Err(why) = matches_struct(name, doc) {
            panic!("README example {name} does not fit its struct: {why}\nREADME: {doc}");
        }
    }
    let undocumented_or_untested: Vec<&String> = documented
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    assert!(
        undocumented_or_untested.is_empty(),
        "README shapes not checked: {undocumented_or_untested:?}"
    );
}

#[test]
fn the_struct_check_can_fail() {
    let token = serde_json::json!({
        "profile_id": "minimax-portal:default", "access_token": "a", "expires": 1,
        "base_url": "https://x", "outcome": "valid"
    });
    assert!(matches_struct("token", &token).is_ok());
    let mut extra = token.clone();
    extra["scope"] = serde_json::json!("x");
    assert!(matches_struct("token", &extra).is_err(), "an unknown key");
    let mut missing = token.clone();
    missing.as_object_mut().unwrap().remove("expires");
    assert!(matches_struct("token", &missing).is_err(), "a missing key");
    let status = serde_json::json!({
        "profiles": [], "api_keys": [], "default_profile": "default", "store_mode": "auto",
        "keyring_backend": "Secret Service", "kernel_cache": "on", "state_home": "/x",
        "warnings": []
    });
    assert!(matches_struct("status", &status).is_ok());
    let mut no_fix = serde_json::json!({"error": {"class": "failed", "exit_code": 1,
        "message": "m", "fix": null, "hint": null, "retry_after": null}});
    assert!(matches_struct("error", &no_fix).is_ok());
    no_fix["error"].as_object_mut().unwrap().remove("fix");
    assert!(
        matches_struct("error", &no_fix).is_err(),
        "a missing null key"
    );
}

#[test]
fn the_shape_check_can_fail() {
    let doc = serde_json::json!({"a": 1, "b": {"c": "x"}});
    assert!(same_shape(&doc, &serde_json::json!({"a": 2, "b": {"c": "y"}}), "t").is_ok());
    assert!(same_shape(&doc, &serde_json::json!({"a": 2}), "t").is_err());
    assert!(same_shape(&doc, &serde_json::json!({"a": "2", "b": {"c": "y"}}), "t").is_err());
    assert!(
        same_shape(
            &doc,
            &serde_json::json!({"a": 2, "b": {"c": "y", "d": 1}}),
            "t"
        )
        .is_err()
    );
}
