//! A reference agent host for the `minimax-portal-auth` plugin.
//!
//! It does what a real host (OpenClaw and the like) does with the plugin,
//! using nothing but `plugin.toml` and the binary's documented interface:
//!
//! ```text
//! cargo run --example host -- --home DIR plugins enable minimax-portal-auth [--manifest PATH]
//! cargo run --example host -- --home DIR onboard --auth-choice minimax-portal [-- --no-browser]
//! cargo run --example host -- --home DIR start [--json]
//! ```
//!
//! - `plugins enable` reads and validates the manifest and records it in
//!   `DIR/config.json`.
//! - `onboard` runs the auth choice's command line from the manifest (the
//!   terminal passes through for the region prompt; stdout is captured),
//!   then deep-merges the printed `config_patch` into `DIR/config.json`.
//! - `start` runs the manifest's start-up command, then reads every
//!   configured profile straight from the store the manifest names (OS
//!   keyring, else the plain-text file), without calling the plugin, and
//!   says which models are ready and until when.
//!
//! The plugin binary is the manifest's `binary`, found on `PATH`, or the
//! path in `MINIMAX_PORTAL_AUTH_BIN` (the binary name upper-cased, `-` as
//! `_`, plus `_BIN`).

use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the start-up command may run before the host gives up on it.
const STARTUP_DEADLINE: Duration = Duration::from_secs(120);
/// The bound on one keyring read, unless the plugin's variable says otherwise.
const KEYRING_TIMEOUT_ENV: &str = "MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS";
const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(5);
/// A stored secret larger than this is not a profile.
const MAX_SECRET_BYTES: usize = 64 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "host",
    about = "A reference agent host for the minimax-portal-auth plugin"
)]
struct Cli {
    /// The host's folder: config.json, and plugins/<id>/plugin.toml if you install one there
    #[arg(long, value_name = "DIR")]
    home: PathBuf,

    #[command(subcommand)]
    command: HostCommand,
}

#[derive(Debug, Subcommand)]
enum HostCommand {
    /// Manage plugins
    Plugins {
        #[command(subcommand)]
        action: PluginsCommand,
    },
    /// Sign in through one of the plugin's auth choices and merge its config patch
    Onboard {
        /// The auth choice id from plugin.toml (e.g. minimax-portal, minimax-global-oauth, minimax-cn-oauth)
        #[arg(long, value_name = "CHOICE")]
        auth_choice: String,
        /// Extra arguments appended to the plugin's command line (after `--`)
        #[arg(last = true, value_name = "PLUGIN_ARGS")]
        extra: Vec<String>,
    },
    /// Start the host: run the plugin's start-up hook, then read the profiles from the store
    Start {
        /// Print one JSON object on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// Validate a plugin's manifest and enable it
    Enable {
        /// The plugin id (minimax-portal-auth)
        id: String,
        /// The manifest (default: DIR/plugins/<id>/plugin.toml, else the crate's plugin.toml)
        #[arg(long, value_name = "PATH")]
        manifest: Option<PathBuf>,
    },
}

/// A failure of the host: a message for stderr and the exit code.
#[derive(Debug)]
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code,
        }
    }
}

type HostResult<T> = Result<T, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        HostCommand::Plugins {
            action: PluginsCommand::Enable { id, manifest },
        } => enable(&cli.home, &id, manifest),
        HostCommand::Onboard { auth_choice, extra } => onboard(&cli.home, &auth_choice, &extra),
        HostCommand::Start { json } => start(&cli.home, json),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("host: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

// ---------------------------------------------------------------------------
// The manifest
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct AuthChoice {
    id: String,
    label: String,
    command: Vec<String>,
}

#[derive(Debug, Clone)]
struct CatalogModel {
    id: String,
}

/// What the host uses from plugin.toml, validated.
#[derive(Debug)]
struct Manifest {
    path: PathBuf,
    id: String,
    version: String,
    binary: String,
    provider_id: String,
    /// Region id -> model base URL (`[provider.regions.*]`), if declared.
    region_base_urls: BTreeMap<String, String>,
    auth_choices: Vec<AuthChoice>,
    startup: Vec<String>,
    profile_id: String,
    default_profile_name: String,
    store_env: String,
    keyring_service: String,
    keyring_account: String,
    file_path: String,
    state_home_env: String,
    /// The platform default of the state folder, as the manifest words it.
    state_home_default: Option<String>,
    default_model: String,
    catalog: Vec<CatalogModel>,
    exit_codes: BTreeMap<String, i64>,
}

/// Collects what is wrong with a manifest, one message per field.
struct Problems(Vec<String>);

impl Problems {
    fn string(&mut self, v: Option<&toml::Value>, field: &str) -> String {
        match v.and_then(toml::Value::as_str) {
            Some(s) if !s.trim().is_empty() => s.to_string(),
            _ => {
                self.0.push(format!("{field} must be a non-empty string"));
                String::new()
            }
        }
    }

    fn string_list(&mut self, v: Option<&toml::Value>, field: &str) -> Vec<String> {
        let words: Option<Vec<String>> = v.and_then(toml::Value::as_array).and_then(|items| {
            items
                .iter()
                .map(|w| w.as_str().map(str::to_string))
                .collect()
        });
        match words {
            Some(words) if !words.is_empty() && words.iter().all(|w| !w.is_empty()) => words,
            _ => {
                self.0
                    .push(format!("{field} must be a non-empty list of strings"));
                Vec::new()
            }
        }
    }

    /// A command line whose first word is the plugin's binary.
    fn command(&mut self, v: Option<&toml::Value>, field: &str, binary: &str) -> Vec<String> {
        let line = self.string_list(v, field);
        if let Some(first) = line.first()
            && !binary.is_empty()
            && first != binary
        {
            self.0.push(format!(
                "{field}[0] must be the plugin's binary {binary:?}, not {first:?}"
            ));
        }
        line
    }

    fn positive(&mut self, v: Option<&toml::Value>, field: &str) {
        if v.and_then(toml::Value::as_integer).is_none_or(|n| n <= 0) {
            self.0.push(format!("{field} must be a positive integer"));
        }
    }

    fn boolean(&mut self, v: Option<&toml::Value>, field: &str) {
        if v.and_then(toml::Value::as_bool).is_none() {
            self.0.push(format!("{field} must be true or false"));
        }
    }

    fn template(&mut self, value: &str, field: &str, placeholder: &str) {
        if !value.is_empty() && !value.contains(placeholder) {
            self.0.push(format!("{field} must contain {placeholder}"));
        }
    }
}

/// Looks up `a.b.c` in a table.
fn lookup<'a>(root: &'a toml::Value, dotted: &str) -> Option<&'a toml::Value> {
    dotted.split('.').try_fold(root, |v, key| v.get(key))
}

/// The command that signs in again, through the manifest's first auth choice.
fn onboard_hint(home: &Path, manifest: &Manifest) -> String {
    let choice = manifest.auth_choices.first().map_or("?", |c| c.id.as_str());
    format!(
        "host --home {} onboard --auth-choice {choice}",
        home.display()
    )
}

/// A string the manifest may leave out, with its default.
fn optional_str(root: &toml::Value, dotted: &str, default: &str) -> String {
    lookup(root, dotted)
        .and_then(toml::Value::as_str)
        .unwrap_or(default)
        .to_string()
}

fn load_manifest(path: &Path) -> HostResult<Manifest> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(1, format!("cannot read {}: {e}", path.display())))?;
    let root: toml::Value = text
        .parse::<toml::Table>()
        .map(toml::Value::Table)
        .map_err(|e| {
            Failure::new(
                1,
                format!("{}: not valid TOML: {}", path.display(), e.message()),
            )
        })?;
    let mut p = Problems(Vec::new());
    let id = p.string(root.get("id"), "id");
    let version = p.string(root.get("version"), "version");
    let binary = p.string(root.get("binary"), "binary");
    let provider_id = p.string(lookup(&root, "provider.id"), "provider.id");

    let mut region_base_urls = BTreeMap::new();
    if let Some(regions) = lookup(&root, "provider.regions").and_then(toml::Value::as_table) {
        for (region, table) in regions {
            let url = p.string(
                table.get("base_url"),
                &format!("provider.regions.{region}.base_url"),
            );
            region_base_urls.insert(region.clone(), url);
        }
    }

    let mut auth_choices = Vec::new();
    match root.get("auth_choices").and_then(toml::Value::as_array) {
        Some(choices) if !choices.is_empty() => {
            for (i, choice) in choices.iter().enumerate() {
                let id = p.string(choice.get("id"), &format!("auth_choices[{i}].id"));
                let label = p.string(choice.get("label"), &format!("auth_choices[{i}].label"));
                let command = p.command(
                    choice.get("command"),
                    &format!("auth_choices[{i}].command"),
                    &binary,
                );
                if !id.is_empty() && auth_choices.iter().any(|c: &AuthChoice| c.id == id) {
                    p.0.push(format!("auth_choices[{i}].id {id:?} is used twice"));
                }
                auth_choices.push(AuthChoice { id, label, command });
            }
        }
        _ => {
            p.0.push("auth_choices must be a non-empty list of tables".to_string())
        }
    }

    let startup = p.command(lookup(&root, "startup.command"), "startup.command", &binary);
    p.command(lookup(&root, "token.command"), "token.command", &binary);

    let profile_id = p.string(lookup(&root, "profile.id"), "profile.id");
    p.template(&profile_id, "profile.id", "{name}");
    let default_profile_name = optional_str(&root, "profile.default_name", "default");
    let store_env = optional_str(&root, "profile.store_env", "MINIMAX_PORTAL_AUTH_STORE");
    let keyring_service = p.string(
        lookup(&root, "profile.keyring.service"),
        "profile.keyring.service",
    );
    let keyring_account = p.string(
        lookup(&root, "profile.keyring.account"),
        "profile.keyring.account",
    );
    p.template(&keyring_account, "profile.keyring.account", "{name}");
    let file_path = p.string(lookup(&root, "profile.file.path"), "profile.file.path");
    p.template(&file_path, "profile.file.path", "{name}");
    let state_home_env = optional_str(
        &root,
        "profile.file.state_home_env",
        "MINIMAX_PORTAL_AUTH_HOME",
    );
    let state_home_default = lookup(&root, "profile.file.state_home")
        .and_then(|homes| {
            homes.get(std::env::consts::OS).or_else(|| {
                // The other Unix-likes keep their state like Linux does.
                (cfg!(unix) && !cfg!(target_os = "macos"))
                    .then(|| homes.get("linux"))
                    .flatten()
            })
        })
        .and_then(toml::Value::as_str)
        .map(str::to_string);

    let default_model = p.string(lookup(&root, "models.default"), "models.default");
    let mut catalog = Vec::new();
    match lookup(&root, "models.catalog").and_then(toml::Value::as_array) {
        Some(models) if !models.is_empty() => {
            for (i, model) in models.iter().enumerate() {
                let field = |name: &str| format!("models.catalog[{i}].{name}");
                let id = p.string(model.get("id"), &field("id"));
                p.string(model.get("alias"), &field("alias"));
                p.positive(model.get("context_window"), &field("context_window"));
                p.positive(model.get("max_tokens"), &field("max_tokens"));
                p.string_list(model.get("input"), &field("input"));
                p.boolean(model.get("reasoning"), &field("reasoning"));
                if !id.is_empty() && catalog.iter().any(|m: &CatalogModel| m.id == id) {
                    p.0.push(format!("{} {id:?} is used twice", field("id")));
                }
                catalog.push(CatalogModel { id });
            }
            if !default_model.is_empty() && !catalog.iter().any(|m| m.id == default_model) {
                p.0.push(format!(
                    "models.default {default_model:?} must be the id of a model in models.catalog"
                ));
            }
        }
        _ => {
            p.0.push("models.catalog must be a non-empty list of tables".to_string())
        }
    }

    let exit_codes = root
        .get("exit_codes")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_integer()?)))
                .collect()
        })
        .unwrap_or_default();

    if !p.0.is_empty() {
        let shown = path.display();
        let lines: Vec<String> = p.0.iter().map(|m| format!("{shown}: {m}")).collect();
        return Err(Failure::new(
            1,
            format!("the manifest is refused:\n  {}", lines.join("\n  ")),
        ));
    }
    Ok(Manifest {
        path: path.to_path_buf(),
        id,
        version,
        binary,
        provider_id,
        region_base_urls,
        auth_choices,
        startup,
        profile_id,
        default_profile_name,
        store_env,
        keyring_service,
        keyring_account,
        file_path,
        state_home_env,
        state_home_default,
        default_model,
        catalog,
        exit_codes,
    })
}

impl Manifest {
    fn profile_id_of(&self, name: &str) -> String {
        self.profile_id.replace("{name}", name)
    }

    /// The profile name in a profile id (`minimax-portal:work` -> `work`).
    fn name_of(&self, profile_id: &str) -> Option<String> {
        let (prefix, suffix) = self.profile_id.split_once("{name}")?;
        let name = profile_id.strip_prefix(prefix)?.strip_suffix(suffix)?;
        (!name.is_empty()).then(|| name.to_string())
    }

    fn exit_code(&self, name: &str, fallback: i64) -> i64 {
        self.exit_codes.get(name).copied().unwrap_or(fallback)
    }

    /// The environment variable that names the plugin's binary for this host.
    fn bin_env(&self) -> String {
        format!("{}_BIN", self.binary.to_uppercase().replace('-', "_"))
    }

    /// The program for a command line's first word.
    fn program(&self, word: &str) -> HostResult<PathBuf> {
        let env = self.bin_env();
        if word == self.binary
            && let Some(path) = std::env::var_os(&env).filter(|v| !v.is_empty())
        {
            return Ok(PathBuf::from(path));
        }
        if word.contains(std::path::MAIN_SEPARATOR) || word.contains('/') {
            return Ok(PathBuf::from(word));
        }
        find_on_path(word).ok_or_else(|| {
            Failure::new(
                127,
                format!(
                    "cannot find the plugin's binary `{word}` on PATH; install it \
                     (cargo install --path <crate>) or set {env} to its path"
                ),
            )
        })
    }

    /// The state folder: the manifest's variable, else its platform default.
    fn state_home(&self) -> Option<PathBuf> {
        if let Some(dir) = non_empty_env(&self.state_home_env) {
            return Some(PathBuf::from(dir));
        }
        let default = self.state_home_default.as_deref()?;
        default
            .split(", else ")
            .find_map(expand_vars)
            .map(PathBuf::from)
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Expands `$NAME` and `%NAME%`; None when a variable is unset or empty.
fn expand_vars(text: &str) -> Option<String> {
    let text = text.trim();
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find(['$', '%']) {
        out.push_str(&rest[..pos]);
        let marker = rest.as_bytes()[pos];
        let after = &rest[pos + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 {
            out.push(marker as char);
            rest = after;
            continue;
        }
        out.push_str(&non_empty_env(&after[..len])?);
        rest = &after[len..];
        if marker == b'%' {
            rest = rest.strip_prefix('%').unwrap_or(rest);
        }
    }
    out.push_str(rest);
    Some(out)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.exe"), program.to_string()]
    } else {
        vec![program.to_string()]
    };
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

// ---------------------------------------------------------------------------
// config.json
// ---------------------------------------------------------------------------

fn config_path(home: &Path) -> PathBuf {
    home.join("config.json")
}

fn load_config(home: &Path) -> HostResult<Value> {
    let path = config_path(home);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let config: Value = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(1, format!("{} is not valid JSON: {e}", path.display()))
            })?;
            if !config.is_object() {
                return Err(Failure::new(
                    1,
                    format!("{} must hold a JSON object", path.display()),
                ));
            }
            Ok(config)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(Failure::new(
            1,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Writes config.json atomically: a temp file in the same folder, renamed.
fn save_config(home: &Path, config: &Value) -> HostResult<()> {
    let fail = |e: std::io::Error| {
        Failure::new(
            1,
            format!("cannot write {}: {e}", config_path(home).display()),
        )
    };
    std::fs::create_dir_all(home).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(home).map_err(fail)?;
    let mut text = serde_json::to_vec_pretty(config).unwrap_or_default();
    text.push(b'\n');
    tmp.write_all(&text).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(config_path(home)).map_err(|e| fail(e.error))?;
    Ok(())
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

/// The object at `path`, created (or replacing a non-object) on the way.
fn object_at<'a>(root: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut node = root;
    for key in path {
        if !node.is_object() {
            *node = json!({});
        }
        node = node
            .as_object_mut()
            .expect("just made an object")
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    if !node.is_object() {
        *node = json!({});
    }
    node.as_object_mut().expect("just made an object")
}

/// The enabled plugin's manifest, from config.json.
fn enabled_manifest(home: &Path, config: &Value, plugin: &str) -> HostResult<Manifest> {
    let entry = &config["plugins"]["entries"][plugin];
    let enabled = entry["enabled"].as_bool() == Some(true);
    let manifest = entry["manifest"].as_str();
    match (enabled, manifest) {
        (true, Some(path)) => load_manifest(Path::new(path)),
        _ => Err(Failure::new(
            1,
            format!(
                "the plugin {plugin} is not enabled; run: host --home {} plugins enable {plugin}",
                home.display()
            ),
        )),
    }
}

/// The one plugin this host knows how to onboard and start.
const PLUGIN: &str = "minimax-portal-auth";

// ---------------------------------------------------------------------------
// plugins enable
// ---------------------------------------------------------------------------

fn enable(home: &Path, id: &str, manifest: Option<PathBuf>) -> HostResult<u8> {
    let path = match manifest {
        Some(path) => path,
        None => {
            let installed = home.join("plugins").join(id).join("plugin.toml");
            if installed.is_file() {
                installed
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin.toml")
            }
        }
    };
    let path = std::path::absolute(&path).unwrap_or(path);
    let manifest = load_manifest(&path)?;
    if manifest.id != id {
        return Err(Failure::new(
            1,
            format!(
                "{}: id is {:?}, not the plugin {id:?} asked for",
                path.display(),
                manifest.id
            ),
        ));
    }
    let mut config = load_config(home)?;
    let entries = object_at(&mut config, &["plugins", "entries"]);
    entries.insert(
        id.to_string(),
        json!({"enabled": true, "manifest": path.to_string_lossy()}),
    );
    save_config(home, &config)?;
    println!(
        "Enabled {} {} (provider {}) from {}",
        manifest.id,
        manifest.version,
        manifest.provider_id,
        manifest.path.display()
    );
    let ids: Vec<&str> = manifest.catalog.iter().map(|m| m.id.as_str()).collect();
    println!(
        "Models of {}: {} (default {})",
        manifest.provider_id,
        ids.join(", "),
        manifest.default_model
    );
    println!("Sign in with one of:");
    for choice in &manifest.auth_choices {
        println!(
            "  host --home {} onboard --auth-choice {}   # {}",
            home.display(),
            choice.id,
            choice.label
        );
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// onboard
// ---------------------------------------------------------------------------

fn onboard(home: &Path, choice_id: &str, extra: &[String]) -> HostResult<u8> {
    let mut config = load_config(home)?;
    let manifest = enabled_manifest(home, &config, PLUGIN)?;
    let Some(choice) = manifest.auth_choices.iter().find(|c| c.id == choice_id) else {
        let ids: Vec<&str> = manifest
            .auth_choices
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        return Err(Failure::new(
            2,
            format!(
                "unknown auth choice {choice_id:?}; the plugin offers: {}",
                ids.join(", ")
            ),
        ));
    };
    let program = manifest.program(&choice.command[0])?;
    eprintln!("host: {} ...", choice.label);
    // The terminal passes through (the region prompt and the sign-in link
    // need it); stdout is the plugin's answer. A Ctrl-C reaches the plugin
    // and this host alike: the config is written only after a success.
    let child = Command::new(&program)
        .args(&choice.command[1..])
        .args(extra)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(1, format!("cannot run {}: {e}", program.display())))?;
    let output = child
        .wait_with_output()
        .map_err(|e| Failure::new(1, format!("waiting for the plugin failed: {e}")))?;
    if !output.status.success() {
        let code = exit_code_of(&output.status);
        eprintln!(
            "host: the sign-in failed (the plugin exited with {code}); {} is unchanged",
            config_path(home).display()
        );
        return Ok(code);
    }

    let answer: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        Failure::new(
            1,
            format!("the plugin's output is not one JSON object ({e}); config.json is unchanged"),
        )
    })?;
    let Some(patch) = answer.get("config_patch").filter(|p| p.is_object()) else {
        return Err(Failure::new(
            1,
            "the plugin printed no config_patch object; config.json is unchanged",
        ));
    };
    let provider = answer["provider"]
        .as_str()
        .unwrap_or(&manifest.provider_id)
        .to_string();
    if provider != manifest.provider_id {
        return Err(Failure::new(
            1,
            format!(
                "the plugin signed in provider {provider:?}, but its manifest declares {:?}",
                manifest.provider_id
            ),
        ));
    }
    let profile_id = answer["profile_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| manifest.profile_id_of(&manifest.default_profile_name));
    let default_model = answer["default_model"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{provider}/{}", manifest.default_model));

    deep_merge(&mut config, patch);
    object_at(&mut config, &["auth", "profiles"]).insert(
        profile_id.clone(),
        json!({"provider": provider, "mode": "oauth"}),
    );
    object_at(&mut config, &["agents", "defaults", "model"])
        .insert("primary".to_string(), json!(default_model));
    save_config(home, &config)?;

    let region = answer["region"].as_str().unwrap_or("?");
    println!("Onboarded {profile_id} ({region}) with {}.", choice.label);
    println!("Default model: {default_model}");
    let models = configured_models(&config, &provider);
    if !models.is_empty() {
        println!("Models: {}", models.join(", "));
    }
    println!("Next: host --home {} start", home.display());
    Ok(0)
}

/// The exit code to pass through: the plugin's, or 128 + signal.
fn exit_code_of(status: &std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}

/// `provider/<id>` for each model of the provider in config.json.
fn configured_models(config: &Value, provider: &str) -> Vec<String> {
    config["models"]["providers"][provider]["models"]
        .as_array()
        .map(|models| {
            models
                .iter()
                .filter_map(|m| m["id"].as_str())
                .map(|id| format!("{provider}/{id}"))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------

/// What the start-up command did.
struct Startup {
    /// Its exit code; None when it could not run or was killed.
    exit_code: Option<i32>,
    /// Its JSON report, if it printed one.
    report: Option<Value>,
    /// What the user should know (and do), when it did not go well.
    warning: Option<String>,
}

impl Startup {
    fn outcome_of(&self, profile_id: &str) -> Option<&Value> {
        self.report.as_ref()?["profiles"]
            .as_array()?
            .iter()
            .find(|p| p["profile_id"] == profile_id)
    }
}

fn run_startup(manifest: &Manifest, home: &Path) -> Startup {
    let failed = |warning: String| Startup {
        exit_code: None,
        report: None,
        warning: Some(warning),
    };
    let program = match manifest.program(&manifest.startup[0]) {
        Ok(program) => program,
        Err(e) => {
            return failed(format!(
                "{}; the stored profiles are used as they are",
                e.message
            ));
        }
    };
    let mut child = match Command::new(&program)
        .args(&manifest.startup[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            return failed(format!(
                "cannot run {}: {e}; the stored profiles are used as they are",
                program.display()
            ));
        }
    };
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > STARTUP_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return failed(format!(
                    "the start-up command did not finish within {} s and was stopped; \
                     the stored profiles are used as they are",
                    STARTUP_DEADLINE.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return failed(format!("waiting for the start-up command failed: {e}")),
        }
    };
    let report = reader
        .join()
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let code = status.code();
    let warning = match code {
        Some(0) => None,
        Some(c) if i64::from(c) == manifest.exit_code("transient", 4) => Some(
            "the start-up refresh could not reach the portal (network, 5xx or timeout); \
             the stored profiles are untouched and are used while their tokens last; \
             start the host again later to refresh"
                .to_string(),
        ),
        Some(c) if i64::from(c) == manifest.exit_code("needs_login", 3) => Some(format!(
            "a profile must sign in again; run: {}",
            onboard_hint(home, manifest)
        )),
        Some(c) if i64::from(c) == manifest.exit_code("store_unavailable", 5) => Some(format!(
            "the keyring is locked or not reachable: unlock it (on Linux: the Secret Service), \
             or set {}=file",
            manifest.store_env
        )),
        Some(c) => Some(format!(
            "the start-up refresh failed (exit {c}); see the plugin's message above"
        )),
        None => Some("the start-up command was killed by a signal".to_string()),
    };
    Startup {
        exit_code: code,
        report,
        warning,
    }
}

/// Which store to read, as the plugin would choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreMode {
    Auto,
    Keyring,
    File,
}

fn store_mode(manifest: &Manifest) -> HostResult<StoreMode> {
    match non_empty_env(&manifest.store_env)
        .as_deref()
        .map(str::trim)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("auto") => Ok(StoreMode::Auto),
        Some("keyring") => Ok(StoreMode::Keyring),
        Some("file") => Ok(StoreMode::File),
        Some(other) => Err(Failure::new(
            2,
            format!(
                "{}={other} is not a store: use auto, keyring or file",
                manifest.store_env
            ),
        )),
    }
}

/// One configured profile as the host found it.
struct Found {
    profile_id: String,
    profile: Option<Value>,
    store: Option<&'static str>,
    problem: Option<String>,
    notes: Vec<String>,
}

fn read_profile(manifest: &Manifest, mode: StoreMode, profile_id: &str, name: &str) -> Found {
    let mut found = Found {
        profile_id: profile_id.to_string(),
        profile: None,
        store: None,
        problem: None,
        notes: Vec::new(),
    };
    let mut bytes: Option<(Vec<u8>, &'static str)> = None;
    if mode != StoreMode::File {
        let account = manifest.keyring_account.replace("{name}", name);
        match keyring_read(&manifest.keyring_service, &account) {
            Ok(Some(secret)) => bytes = Some((secret, "keyring")),
            Ok(None) => {}
            Err(why) if mode == StoreMode::Auto => found.notes.push(format!(
                "no OS keyring answered ({why}); trying the file store"
            )),
            Err(why) => {
                found.problem = Some(format!("cannot read the OS keyring: {why}"));
                return found;
            }
        }
    }
    if bytes.is_none() && mode != StoreMode::Keyring {
        match profile_file(manifest, name) {
            None => {
                found.problem = Some(format!(
                    "cannot tell where the plugin keeps its files: set {}",
                    manifest.state_home_env
                ));
                return found;
            }
            Some(path) => match std::fs::read(&path) {
                Ok(content) => bytes = Some((content, "file")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    found.problem = Some(format!("cannot read {}: {e}", path.display()));
                    return found;
                }
            },
        }
    }
    let Some((bytes, store)) = bytes else {
        found.problem = Some("no stored profile".to_string());
        return found;
    };
    found.store = Some(store);
    match decode(&bytes).and_then(|json| {
        serde_json::from_slice::<Value>(&json)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| "the stored profile is not a JSON object".to_string())
    }) {
        Ok(profile) => found.profile = Some(profile),
        Err(why) => found.problem = Some(why),
    }
    found
}

fn profile_file(manifest: &Manifest, name: &str) -> Option<PathBuf> {
    let home = manifest.state_home()?;
    Some(PathBuf::from(
        manifest
            .file_path
            .replace("{state_home}", &home.to_string_lossy())
            .replace("{name}", name),
    ))
}

/// JSON, or zlib-compressed JSON (first byte 0x78; JSON starts with `{`).
fn decode(stored: &[u8]) -> Result<Vec<u8>, String> {
    if stored.len() > MAX_SECRET_BYTES {
        return Err("the stored credential is too large to be a profile".to_string());
    }
    if stored.first() != Some(&0x78) {
        return Ok(stored.to_vec());
    }
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(stored)
        .take(MAX_SECRET_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|_| "the stored credential is damaged (bad compression)".to_string())?;
    if json.len() > MAX_SECRET_BYTES {
        return Err("the stored credential is too large to be a profile".to_string());
    }
    Ok(json)
}

type Backend = Arc<keyring_core::CredentialStore>;

#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd"
))]
fn platform_store() -> keyring_core::Result<Backend> {
    let store: Backend = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Backend> {
    let store: Backend = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(windows)]
fn platform_store() -> keyring_core::Result<Backend> {
    let store: Backend = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    windows
)))]
fn platform_store() -> keyring_core::Result<Backend> {
    Err(keyring_core::Error::NoDefaultStore)
}

/// Reads one credential on its own thread, abandoned after the timeout so a
/// locked or silent keyring never hangs the host.
fn keyring_read(service: &str, account: &str) -> Result<Option<Vec<u8>>, String> {
    let timeout = std::env::var(KEYRING_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_KEYRING_TIMEOUT);
    let (service, account) = (service.to_string(), account.to_string());
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring-read".to_string())
        .spawn(move || {
            let result =
                platform_store().and_then(|store| {
                    match keyring_core::Entry::new_in_store(&store, &service, &account)?
                        .get_secret()
                    {
                        Ok(secret) => Ok(Some(secret)),
                        Err(keyring_core::Error::NoEntry) => Ok(None),
                        Err(e) => Err(e),
                    }
                });
            let _ = tx.send(result);
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(secret)) => Ok(secret),
        // These carry the secret's bytes: never print them.
        Ok(Err(keyring_core::Error::BadEncoding(_) | keyring_core::Error::BadDataFormat(..))) => {
            Err("the keyring returned data that is not a profile".to_string())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "the keyring did not answer within {} ms (locked, or waiting for an unlock prompt?)",
            timeout.as_millis()
        )),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn local_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        None => format!("{ms} (epoch ms)"),
    }
}

fn left(ms: i64) -> String {
    let secs = (ms / 1000).max(0);
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

fn start(home: &Path, json_out: bool) -> HostResult<u8> {
    let config = load_config(home)?;
    let manifest = enabled_manifest(home, &config, PLUGIN)?;
    let mode = store_mode(&manifest)?;
    let onboard_hint = onboard_hint(home, &manifest);

    // 1. The plugin's start-up hook refreshes whatever is due.
    let startup = run_startup(&manifest, home);
    if let Some(warning) = &startup.warning {
        eprintln!("host: warning: {warning}");
    }
    if let Some(rows) = startup
        .report
        .as_ref()
        .and_then(|r| r["profiles"].as_array())
    {
        for row in rows {
            let id = row["profile_id"].as_str().unwrap_or("?");
            let outcome = row["outcome"].as_str().unwrap_or("?");
            match row["fix"].as_str() {
                Some(fix) if !json_out => eprintln!("host: start-up {id}: {outcome}; {fix}"),
                _ if !json_out => eprintln!("host: start-up {id}: {outcome}"),
                _ => {}
            }
        }
    }

    // 2. The profiles, straight from the store the manifest names.
    let provider = manifest.provider_id.as_str();
    let models = configured_models(&config, provider);
    let config_base_url = config["models"]["providers"][provider]["baseUrl"]
        .as_str()
        .map(str::to_string);
    let now = now_ms();
    let mut rows = Vec::new();
    let mut usable_count = 0;
    let configured = config["auth"]["profiles"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (profile_id, entry) in &configured {
        if entry["provider"].as_str() != Some(provider) {
            continue;
        }
        let Some(name) = manifest.name_of(profile_id) else {
            eprintln!(
                "host: warning: skipping {profile_id}: not of the form {}",
                manifest.profile_id
            );
            continue;
        };
        let found = read_profile(&manifest, mode, profile_id, &name);
        for note in &found.notes {
            eprintln!("host: warning: {note}");
        }
        let mut problem = found.problem.clone();
        let profile = found.profile.clone().unwrap_or(Value::Null);
        let expires = profile["expires"].as_i64();
        if problem.is_none() {
            problem = if profile["type"] != "oauth" || profile["provider"] != provider {
                Some(format!(
                    "the stored profile is not an OAuth profile of {provider}"
                ))
            } else if profile["needs_login"] == true {
                Some("the portal rejected its refresh token".to_string())
            } else if profile["access"].as_str().is_none_or(str::is_empty) {
                Some("the stored profile has no access token".to_string())
            } else {
                match expires {
                    None => Some("the stored profile has no expiry".to_string()),
                    Some(t) if t <= now => Some(format!("its token expired at {}", local_time(t))),
                    Some(_) => None,
                }
            };
        }
        let usable = problem.is_none();
        if usable {
            usable_count += 1;
        }
        let region = profile["region"].as_str().map(str::to_string);
        let base_url = profile["base_url"]
            .as_str()
            .map(str::to_string)
            .or_else(|| config_base_url.clone())
            .or_else(|| {
                region
                    .as_ref()
                    .and_then(|r| manifest.region_base_urls.get(r).cloned())
            });
        let fix = (!usable).then(|| format!("run: {onboard_hint}"));
        rows.push(json!({
            "profile_id": found.profile_id,
            "usable": usable,
            "expires": expires,
            "models": if usable { models.clone() } else { Vec::new() },
            "base_url": base_url,
            "store": found.store,
            "region": region,
            "refresh": startup.outcome_of(profile_id).and_then(|o| o["outcome"].as_str()),
            "problem": problem,
            "fix": fix,
        }));
        if !json_out {
            let store = found.store.unwrap_or("no store");
            let region = region.as_deref().unwrap_or("?");
            if usable {
                let until = expires.unwrap_or(now);
                println!(
                    "{profile_id} ({region}, {store}): ready until {} (in {})",
                    local_time(until),
                    left(until - now)
                );
                println!("  base URL: {}", base_url.as_deref().unwrap_or("?"));
                if models.is_empty() {
                    println!("  models: none configured; onboard again to add the catalog");
                } else {
                    println!("  models: {}", models.join(", "));
                }
            } else {
                println!(
                    "{profile_id} ({region}, {store}): NOT usable: {}",
                    problem.as_deref().unwrap_or("?")
                );
                println!("  fix: {}", fix.as_deref().unwrap_or("?"));
            }
        }
    }

    if rows.is_empty() && !json_out {
        println!("No {provider} profile is configured; run: {onboard_hint}");
    }
    if json_out {
        let out = json!({
            "profiles": rows,
            "startup": {
                "exit_code": startup.exit_code,
                "warning": startup.warning,
                "report": startup.report,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(if usable_count > 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_recursive_for_objects_only() {
        let mut base = json!({"a": {"x": 1, "keep": true}, "list": [1, 2], "s": "old"});
        deep_merge(
            &mut base,
            &json!({"a": {"x": 2, "y": 3}, "list": [3], "s": {"now": "object"}}),
        );
        assert_eq!(
            base,
            json!({"a": {"x": 2, "y": 3, "keep": true}, "list": [3], "s": {"now": "object"}})
        );
    }

    #[test]
    fn variables_expand_or_give_up() {
        assert_eq!(expand_vars("no vars"), Some("no vars".to_string()));
        assert_eq!(expand_vars("$SURELY_UNSET_HOST_VAR_XYZ/x"), None);
        assert_eq!(expand_vars("%SURELY_UNSET_HOST_VAR_XYZ%\\x"), None);
    }
}
