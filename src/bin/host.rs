//! A reference agent host: what a host like OpenClaw does with a plugin that
//! ships a `plugin.toml`, here for `minimax-portal-auth`.
//!
//! ```text
//! cargo run --features reference-host --bin host -- --home DIR plugins enable minimax-portal-auth --manifest plugin.toml
//! cargo run --features reference-host --bin host -- --home DIR onboard --auth-choice minimax-portal [-- --no-browser]
//! cargo run --features reference-host --bin host -- --home DIR start [--json]
//! ```
//!
//! `plugins enable` checks the manifest (default `DIR/plugins/ID/plugin.toml`)
//! and records it in `DIR/config.json`; `onboard` runs an auth choice's
//! command line, the terminal passed through, and merges the `config_patch`
//! it prints; `start` runs each plugin's start-up command, then reads the
//! profiles from the stores the manifest names, through the
//! `minimax_portal_auth` library. Command lines start with the manifest's
//! `binary`, found on `PATH`.

use clap::{Parser, Subcommand};
use minimax_portal_auth::{Manifest, Profile, StoreKind, Stores};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a start-up command may run before the host stops waiting.
const STARTUP_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(name = "host", about = "A reference agent host")]
struct HostCli {
    /// The host's folder: config.json, and plugins/<id>/plugin.toml
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    #[command(subcommand)]
    command: HostCommand,
}

#[derive(Subcommand)]
enum HostCommand {
    /// Manage plugins
    Plugins {
        #[command(subcommand)]
        action: PluginsCommand,
    },
    /// Sign in through an auth choice of an enabled plugin and merge its config patch
    Onboard {
        /// The auth choice's id in plugin.toml
        #[arg(long, value_name = "CHOICE")]
        auth_choice: String,
        /// Extra arguments for the plugin's command line (after `--`)
        #[arg(last = true, value_name = "PLUGIN_ARGS")]
        extra: Vec<String>,
    },
    /// Run the plugins' start-up commands, then read the profiles from their stores
    Start {
        /// Print one JSON object on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Check a plugin's manifest and enable the plugin
    Enable {
        id: String,
        /// The manifest (default: DIR/plugins/<id>/plugin.toml)
        #[arg(long, value_name = "PATH")]
        manifest: Option<PathBuf>,
    },
}

/// Why the host stops: the exit code, and a message for stderr.
struct HostError(u8, String);

fn fail<T>(code: u8, message: impl Into<String>) -> Result<T, HostError> {
    Err(HostError(code, message.into()))
}

fn main() -> ExitCode {
    let cli = HostCli::parse();
    let home = cli.home.as_path();
    let result = match cli.command {
        HostCommand::Plugins {
            action: PluginsCommand::Enable { id, manifest },
        } => enable(home, &id, manifest),
        HostCommand::Onboard { auth_choice, extra } => onboard(home, &auth_choice, &extra),
        HostCommand::Start { json } => start(home, json),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(HostError(code, message)) => {
            eprintln!("host: {message}");
            ExitCode::from(code)
        }
    }
}

fn load_manifest(path: &Path) -> Result<Manifest, HostError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path);
    let text = text.or_else(|e| fail(1, format!("cannot read {shown}: {e}")))?;
    Manifest::parse(&text).or_else(|problems| {
        let listed: String = problems
            .iter()
            .map(|p| format!("\n  {shown}: {p}"))
            .collect();
        fail(1, format!("the manifest is refused:{listed}"))
    })
}

/// The items of a JSON array; none for anything else.
fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn config_path(home: &Path) -> PathBuf {
    home.join("config.json")
}

fn load_config(home: &Path) -> Result<Value, HostError> {
    let path = config_path(home);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => return fail(1, format!("cannot read {}: {e}", path.display())),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(config) if config.is_object() => Ok(config),
        _ => fail(1, format!("{} must hold a JSON object", path.display())),
    }
}

/// Writes config.json whole or not at all: a temporary file, renamed.
fn save_config(home: &Path, config: &Value) -> Result<(), HostError> {
    let path = config_path(home);
    let saved = std::fs::create_dir_all(home).and_then(|()| {
        let mut file = tempfile::NamedTempFile::new_in(home)?;
        file.write_all(format!("{config:#}\n").as_bytes())?;
        file.persist(&path).map(drop).map_err(|e| e.error)
    });
    saved.or_else(|e| fail(1, format!("cannot write {}: {e}", path.display())))
}

/// Objects merge key by key, recursively; anything else replaces.
fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(key) {
                    Some(slot) => deep_merge(slot, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// The manifests of the plugins config.json has enabled.
fn enabled_plugins(home: &Path, config: &Value) -> Result<Vec<Manifest>, HostError> {
    let mut plugins = Vec::new();
    let entries = config["plugins"]["entries"].as_object();
    for entry in entries.into_iter().flat_map(|e| e.values()) {
        if let (true, Some(path)) = (entry["enabled"] == true, entry["manifest"].as_str()) {
            plugins.push(load_manifest(Path::new(path))?);
        }
    }
    if plugins.is_empty() {
        let hint = format!("host --home {} plugins enable <id>", home.display());
        return fail(1, format!("no plugin is enabled; run: {hint}"));
    }
    Ok(plugins)
}

fn enable(home: &Path, id: &str, manifest: Option<PathBuf>) -> Result<u8, HostError> {
    let path = manifest.unwrap_or_else(|| home.join("plugins").join(id).join("plugin.toml"));
    let path = std::path::absolute(&path).unwrap_or(path);
    let Some(shown) = path.to_str() else {
        return fail(1, format!("{} is not a UTF-8 path", path.display()));
    };
    let manifest = load_manifest(&path)?;
    if manifest.id != id {
        return fail(1, format!("{shown}: id is {:?}, not {id:?}", manifest.id));
    }
    let mut config = load_config(home)?;
    let entry = json!({"enabled": true, "manifest": shown});
    deep_merge(&mut config, &json!({"plugins": {"entries": {id: entry}}}));
    save_config(home, &config)?;

    let (version, provider) = (&manifest.version, &manifest.provider.id);
    println!("Enabled {id} {version} (provider {provider}) from {shown}");
    println!("Sign in with one of:");
    for choice in &manifest.auth_choices {
        let home = home.display();
        println!("  host --home {home} onboard --auth-choice {}", choice.id);
    }
    Ok(0)
}

/// Starts a command line from a manifest, its stdout piped.
fn spawn(line: &[String], extra: &[String], stdin: Stdio) -> Result<Child, HostError> {
    let Some((program, args)) = line.split_first() else {
        return fail(1, "the manifest names an empty command line");
    };
    let mut command = Command::new(program);
    command.args(args).args(extra).stdin(stdin);
    command.stdout(Stdio::piped()).spawn().or_else(|e| {
        // 127, as a shell answers a command it cannot find.
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        let code = if missing { 127 } else { 1 };
        fail(code, format!("cannot run `{program}` (on PATH?): {e}"))
    })
}

fn onboard(home: &Path, choice_id: &str, extra: &[String]) -> Result<u8, HostError> {
    let mut config = load_config(home)?;
    let plugins = enabled_plugins(home, &config)?;
    let choices: Vec<_> = plugins.iter().flat_map(|m| &m.auth_choices).collect();
    let Some(choice) = choices.iter().find(|c| c.id == choice_id) else {
        let ids: Vec<&str> = choices.iter().map(|c| c.id.as_str()).collect();
        let offered = format!("the enabled plugins offer: {}", ids.join(", "));
        return fail(2, format!("unknown auth choice {choice_id:?}; {offered}"));
    };
    eprintln!("host: {} ...", choice.label);
    // The terminal passes through: the region prompt and the sign-in link
    // need it. config.json changes only after a success.
    let output = spawn(&choice.command, extra, Stdio::inherit())?
        .wait_with_output()
        .or_else(|e| fail(1, format!("waiting for the plugin failed: {e}")))?;
    let unchanged = format!("{} is unchanged", config_path(home).display());
    if !output.status.success() {
        // The plugin's own exit code tells the user what happened.
        let code = u8::try_from(output.status.code().unwrap_or(1)).unwrap_or(1);
        eprintln!("host: the sign-in failed (exit {code}); {unchanged}");
        return Ok(code);
    }
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let Some(patch) = answer.get("config_patch").filter(|p| p.is_object()) else {
        return fail(1, format!("no config_patch from the plugin; {unchanged}"));
    };
    deep_merge(&mut config, patch);
    save_config(home, &config)?;
    let text = |key: &str| answer[key].as_str().unwrap_or("?").to_string();
    let (profile_id, region) = (text("profile_id"), text("region"));
    println!("Onboarded {profile_id} ({region}) with {}.", choice.label);
    println!("Default model: {}", text("default_model"));
    println!("Next: host --home {} start", home.display());
    Ok(0)
}

/// Runs a plugin's start-up command: `{exit_code, warning, report}`, where
/// `report` is what it printed, if JSON, and `warning` what the user should
/// know and do when it did not go well.
fn run_startup(manifest: &Manifest, hint: &str) -> Value {
    let (code, report) = match run_within(&manifest.startup.command, STARTUP_DEADLINE) {
        Ok((status, stdout)) => (status.code(), serde_json::from_slice::<Value>(&stdout).ok()),
        Err(why) => {
            let warning = format!("{why}; the stored profiles are used as they are");
            return json!({"exit_code": null, "warning": warning, "report": null});
        }
    };
    // The manifest names the exit codes; the host knows what each name means.
    let name = manifest.exit_codes.iter().find(|(_, c)| Some(**c) == code);
    let keyring = manifest.profile.keyring.backends.get(std::env::consts::OS);
    let warning = match (code, name.map(|(name, _)| name.as_str())) {
        (Some(0), _) => None,
        (_, Some("transient")) => Some(
            "the start-up refresh could not reach the portal (network, 5xx or timeout); \
             the stored profiles are untouched and are used while their tokens last"
                .to_string(),
        ),
        (_, Some("needs_login")) => Some(format!("a profile must sign in again; run: {hint}")),
        (_, Some("store_unavailable")) => Some(format!(
            "the keyring ({}) is locked or not reachable: unlock it, or set {}=file",
            keyring.map_or("OS keyring", String::as_str),
            manifest.profile.store_env
        )),
        (Some(c), _) => Some(format!("the start-up refresh failed (exit {c}); see above")),
        (None, _) => Some("the start-up command was killed by a signal".to_string()),
    };
    json!({"exit_code": code, "warning": warning, "report": report})
}

/// Runs a command line with stdin empty; stopped after `deadline`.
fn run_within(line: &[String], deadline: Duration) -> Result<(ExitStatus, Vec<u8>), String> {
    let mut child = spawn(line, &[], Stdio::null()).map_err(|HostError(_, why)| why)?;
    // Read stdout while waiting, so that a long report cannot block the plugin.
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut bytes);
        }
        bytes
    });
    let started = Instant::now();
    while started.elapsed() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Ok((status, reader.join().unwrap_or_default())),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for the start-up command failed: {e}")),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let stopped = format!("the start-up command was stopped after {deadline:?}");
    Err(stopped)
}

/// Why a profile from the store cannot be used now, if it cannot.
fn problem(loaded: &Result<Option<(Profile, StoreKind)>, String>) -> Option<String> {
    let profile = match loaded {
        Err(why) => return Some(why.clone()),
        Ok(None) => return Some("no stored profile".to_string()),
        Ok(Some((profile, _))) => profile,
    };
    if profile.needs_login {
        return Some("the portal rejected its refresh token".to_string());
    }
    let expired = profile.expires <= chrono::Utc::now().timestamp_millis();
    expired.then(|| format!("its token expired at {}", local_time(profile.expires)))
}

/// A configured profile as its store holds it: one row of `start --json`.
fn profile_row(manifest: &Manifest, stores: &Stores, profile_id: &str, models: &[String]) -> Value {
    let loaded = match manifest.profile.name_in(profile_id) {
        None => Err(format!("not of the form {}", manifest.profile.id)),
        Some(name) => {
            minimax_portal_auth::read_profile_and_store(stores, &name).map_err(|e| e.message)
        }
    };
    let problem = problem(&loaded);
    let loaded = loaded.ok().flatten();
    let profile = loaded.as_ref().map(|(profile, _)| profile);
    json!({
        "plugin": manifest.id,
        "profile_id": profile_id,
        "usable": problem.is_none(),
        "problem": problem,
        "expires": profile.map(|p| p.expires),
        "models": if problem.is_none() { models } else { &[] },
        "base_url": profile.map(|p| &p.base_url),
        "store": loaded.as_ref().map(|(_, store)| store.as_str()),
        "region": profile.map(|p| p.region.as_str()),
    })
}

fn print_row(row: &Value) {
    let text = |key: &str| row[key].as_str().unwrap_or("?");
    let store = row["store"].as_str().unwrap_or("no store");
    let place = format!("{} ({}, {store})", text("profile_id"), text("region"));
    if row["usable"] != true {
        let (problem, fix) = (text("problem"), text("fix"));
        println!("{place}: NOT usable: {problem}\n  fix: {fix}");
        return;
    }
    let until = local_time(row["expires"].as_i64().unwrap_or(0));
    println!("{place}: ready until {until}");
    let models = items(&row["models"]).iter().filter_map(Value::as_str);
    let models = models.collect::<Vec<_>>().join(", ");
    println!("  base URL: {}\n  models: {models}", text("base_url"));
}

fn start(home: &Path, json_out: bool) -> Result<u8, HostError> {
    let config = load_config(home)?;
    let (mut rows, mut startups) = (Vec::new(), serde_json::Map::new());
    for manifest in enabled_plugins(home, &config)? {
        let first_choice = manifest.auth_choices.first().map_or("?", |c| c.id.as_str());
        let home = home.display();
        let hint = format!("host --home {home} onboard --auth-choice {first_choice}");
        let startup = run_startup(&manifest, &hint);
        if let Some(warning) = startup["warning"].as_str() {
            eprintln!("host: warning: {warning}");
        }
        let provider = manifest.provider.id.as_str();
        let configured = items(&config["models"]["providers"][provider]["models"]);
        let model_ref = |m: &Value| Some(format!("{provider}/{}", m["id"].as_str()?));
        let models: Vec<String> = configured.iter().filter_map(model_ref).collect();
        let profiles = config["auth"]["profiles"].as_object().into_iter().flatten();
        let of_provider = |p: &(&String, &Value)| p.1["provider"] == provider;
        let mut ids = profiles.filter(of_provider).peekable();
        if ids.peek().is_none() && !json_out {
            println!("No {provider} profile is configured; run: {hint}");
        }
        // Opened after the start-up command, so that what it refreshed is read.
        let stores = manifest.profile.open_stores().or_else(|e| {
            let code = u8::try_from(e.class.exit_code()).unwrap_or(1);
            fail(code, e.to_string())
        })?;
        for (profile_id, _) in ids {
            let mut row = profile_row(&manifest, &stores, profile_id, &models);
            let mut refreshed = items(&startup["report"]["profiles"]).iter();
            let refresh = refreshed.find(|r| r["profile_id"] == profile_id.as_str());
            row["refresh"] = refresh.map_or(Value::Null, |r| r["outcome"].clone());
            row["fix"] = json!((row["usable"] != true).then(|| format!("run: {hint}")));
            if !json_out {
                print_row(&row);
            }
            rows.push(row);
        }
        startups.insert(manifest.id, startup);
    }
    if json_out {
        println!("{:#}", json!({"profiles": rows, "startup": startups}));
    }
    let any_usable = rows.iter().any(|r| r["usable"] == true);
    Ok(if any_usable { 0 } else { 1 })
}

fn local_time(ms: i64) -> String {
    let time = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let local = time.with_timezone(&chrono::Local);
    local.format("%F %T %:z").to_string()
}
