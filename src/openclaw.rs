//! OpenClaw as a host (docs/openclaw.md): it runs no plugin binaries and
//! reads no keyring, but it can run a program for a secret ("exec secret
//! provider"). This module builds the config patch that points OpenClaw's
//! model provider at `minimax-portal-auth token --profile NAME`, and runs
//! OpenClaw's own CLI to apply it: its config is JSON5 and its credentials
//! live in SQLite, so nothing here edits its files.

use crate::catalog::{self, Catalog};
use crate::child::{self, Collected};
use crate::error::{Error, Result};
use crate::profile::ProfileName;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// OpenClaw's limit for exec providers is 120 s; a refresh (with one wait
/// for another process's refresh) fits well within this.
const EXEC_TIMEOUT_MS: u64 = 60_000;
/// Every OpenClaw command is stopped after this.
const CLI_TIMEOUT: Duration = Duration::from_secs(180);
/// More output than this from OpenClaw is cut.
const MAX_OUTPUT: u64 = 1024 * 1024;
/// How long OpenClaw's output is still read after it exited.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// The systems whose text the setup writes differs by. A value rather than
/// `cfg!`, so that the unit tests on any machine check every system's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux and the BSDs: the Secret Service, systemd.
    Linux,
    Mac,
    Windows,
}

impl Os {
    /// The system this binary was built for.
    pub const CURRENT: Os = if cfg!(windows) {
        Os::Windows
    } else if cfg!(target_os = "macos") {
        Os::Mac
    } else {
        Os::Linux
    };

    /// The file name of OpenClaw's launcher on PATH: npm installs a
    /// `openclaw.cmd` batch file on Windows (beside an sh script Windows
    /// cannot run).
    pub fn openclaw_launcher(self) -> &'static str {
        match self {
            Os::Windows => "openclaw.cmd",
            Os::Linux | Os::Mac => "openclaw",
        }
    }
}

/// What the exec command needs from OpenClaw's environment to reach the
/// store: OpenClaw passes it nothing else. `MINIMAX_PORTAL_AUTH_HOME` is
/// pinned in `env` instead, so the Gateway finds the same state folder.
fn pass_env(os: Os) -> Vec<&'static str> {
    let mut vars = vec![
        "HOME",
        "MINIMAX_PORTAL_AUTH_STORE",
        "SSL_CERT_FILE",
        "HTTPS_PROXY",
        "NO_PROXY",
    ];
    match os {
        // The state folder's default is under LOCALAPPDATA (plugin.toml).
        // A Windows program started without SYSTEMROOT cannot initialise
        // Winsock (WSAEPROVIDERFAILEDINIT), so no refresh could reach the
        // portal; OpenClaw's own 1Password provider passes it and WINDIR
        // too. Node reads these names case-insensitively on Windows.
        Os::Windows => vars.extend([
            "USERPROFILE",
            "APPDATA",
            "LOCALAPPDATA",
            "SYSTEMROOT",
            "WINDIR",
        ]),
        // The Keychain is reached through the user's session, not a variable.
        Os::Mac => {}
        // The Secret Service is reached over the session bus.
        Os::Linux => vars.extend(["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]),
    }
    vars
}

/// The names one profile's setup uses in OpenClaw's config. The default
/// profile is `minimax-portal`, the provider OpenClaw knows; any other gets
/// its own provider id, so two profiles (say Global and CN) never share one
/// base URL.
#[derive(Debug, Clone)]
pub struct Names {
    pub profile: ProfileName,
    /// `models.providers.<provider>`; model references are `<provider>/<id>`.
    pub provider: String,
    /// `secrets.providers.<secret_provider>`.
    pub secret_provider: String,
    /// Appended to aliases so that two profiles' aliases do not clash.
    alias_suffix: String,
}

impl Names {
    pub fn of(profile: &ProfileName) -> Result<Names> {
        if profile.as_str() == "default" {
            return Ok(Names {
                profile: profile.clone(),
                provider: crate::profile::PROVIDER.to_string(),
                secret_provider: "minimax-portal-auth".to_string(),
                alias_suffix: String::new(),
            });
        }
        // OpenClaw's ids are lowercase (secret providers match
        // ^[a-z][a-z0-9_-]{0,63}$). Only lowercase names are connected, so
        // each provider id belongs to one profile: `Work` would otherwise
        // share (and take over) `work`'s.
        let lower = profile.as_str().to_ascii_lowercase();
        if lower != profile.as_str() {
            return Err(Error::usage(format!(
                "the profile name {profile} has capital letters, but OpenClaw's provider ids \
                 are lowercase: it would share {}-{lower} with the profile {lower}; use a \
                 lowercase profile name for OpenClaw",
                crate::profile::PROVIDER
            ))
            .with_hint(
                "sign in under a lowercase name (`minimax-portal-auth login -p NAME`) \
                        and connect that one",
            ));
        }
        if lower.len() > 40 {
            return Err(Error::usage(format!(
                "the profile name {profile} is too long for OpenClaw's provider ids (40 at most)"
            )));
        }
        Ok(Names {
            profile: profile.clone(),
            provider: format!("{}-{lower}", crate::profile::PROVIDER),
            secret_provider: format!("minimax-portal-auth-{lower}"),
            alias_suffix: format!("-{lower}"),
        })
    }
}

/// True for an id OpenClaw itself would accept as a credential reference
/// (`^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,255}$`): only such an id is put into
/// a command for the user to paste.
pub fn is_ref_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 256
        && chars.all(|c| c.is_ascii_alphanumeric() || "._:/#-".contains(c))
}

/// Everything the setup writes.
pub struct SetupInputs<'a> {
    pub names: &'a Names,
    /// The real path of this binary.
    pub binary: &'a Path,
    pub state_home: &'a Path,
    pub base_url: &'a str,
    pub set_default: bool,
}

/// The patch for `openclaw config patch`: an exec secret provider running
/// this binary's `token`, the model provider using it, the catalog, the
/// aliases, and with `set_default` the primary model.
pub fn setup_patch(setup: &SetupInputs, catalog: &Catalog) -> Value {
    let names = setup.names;
    let models: Vec<Value> = catalog.models.iter().map(catalog::model_entry).collect();
    let aliases: Map<String, Value> = catalog
        .models
        .iter()
        .map(|m| {
            (
                catalog::model_ref(&names.provider, &m.id),
                json!({"alias": format!("{}{}", m.alias, names.alias_suffix)}),
            )
        })
        .collect();
    let mut defaults = json!({"models": aliases});
    if setup.set_default {
        defaults["model"] =
            json!({"primary": catalog::model_ref(&names.provider, &catalog.default)});
    }
    json!({
        "secrets": {"providers": {&names.secret_provider: {
            "source": "exec",
            "command": setup.binary,
            "args": ["token", "--profile", names.profile.as_str()],
            "jsonOnly": false,
            "timeoutMs": EXEC_TIMEOUT_MS,
            "passEnv": pass_env(Os::CURRENT),
            "env": {crate::safe_fs::HOME_ENV: setup.state_home},
        }}},
        "models": {"providers": {&names.provider: {
            "baseUrl": setup.base_url,
            "api": "anthropic-messages",
            "authHeader": true,
            "apiKey": {
                "source": "exec",
                "provider": names.secret_provider,
                "id": names.profile.profile_id(),
            },
            "models": models,
        }}},
        "agents": {"defaults": defaults},
    })
}

/// One step of taking the setup out again. OpenClaw refuses a write that
/// shrinks its config below half, so the removal is a list of small edits
/// that can be applied together or in groups.
#[derive(Debug, Clone)]
pub struct Edit {
    pub patch: Value,
    /// A path replaced whole rather than merged (`--replace-path`), in
    /// OpenClaw's notation and as a JSON pointer into `patch`.
    pub replace: Option<(String, String)>,
}

/// The edits that undo `setup_patch`, in an order that suits OpenClaw's size
/// guard: the large pieces (model entries, the secret provider) go while the
/// config is still large, the small ones (aliases, the provider's shell)
/// last. The exec reference goes before the secret provider it names (a
/// reference to a missing provider breaks every turn).
pub fn removal_edits(names: &Names, catalog: &Catalog, primary_is_ours: bool) -> Vec<Edit> {
    let provider = &names.provider;
    let plain = |patch: Value| Edit {
        patch,
        replace: None,
    };
    let mut edits = vec![plain(
        json!({"models": {"providers": {provider: {"apiKey": null}}}}),
    )];
    let entries: Vec<Value> = catalog.models.iter().map(catalog::model_entry).collect();
    for keep in (0..entries.len()).rev() {
        edits.push(Edit {
            patch: json!({"models": {"providers": {provider: {"models": entries[..keep]}}}}),
            replace: Some((
                format!("models.providers[\"{provider}\"].models"),
                format!("/models/providers/{provider}/models"),
            )),
        });
    }
    edits.push(plain(
        json!({"secrets": {"providers": {&names.secret_provider: null}}}),
    ));
    edits.extend(catalog.models.iter().map(|m| {
        plain(json!({"agents": {"defaults": {"models": {catalog::model_ref(provider, &m.id): null}}}}))
    }));
    if primary_is_ours {
        edits.push(plain(
            json!({"agents": {"defaults": {"model": {"primary": null}}}}),
        ));
    }
    edits.push(plain(json!({"models": {"providers": {provider: null}}})));
    edits
}

/// OpenClaw refuses a write that leaves less than half of a config of 512
/// bytes or more (measured as 2-space JSON). Groups the edits into as few
/// patches as keep within that, with a margin, given the current config.
pub fn plan_removal(config: &Value, edits: &[Edit]) -> Vec<Vec<Edit>> {
    let size = |v: &Value| serde_json::to_string_pretty(v).map_or(0, |t| t.len());
    let allowed = |before: usize, after: usize| before < 512 || after * 20 >= before * 11;
    let mut groups: Vec<Vec<Edit>> = Vec::new();
    let mut group: Vec<Edit> = Vec::new();
    let mut start = config.clone();
    let mut current = config.clone();
    for edit in edits {
        let next = applied(&current, &edit.patch);
        if group.is_empty() || allowed(size(&start), size(&next)) {
            group.push(edit.clone());
            current = next;
        } else {
            groups.push(std::mem::take(&mut group));
            start = current.clone();
            current = applied(&start, &edit.patch);
            group.push(edit.clone());
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

/// A config after a patch, as OpenClaw applies one: objects merge, arrays
/// and scalars replace, null deletes.
pub fn applied(config: &Value, patch: &Value) -> Value {
    let mut out = config.clone();
    merge(&mut out, patch);
    prune_nulls(&mut out);
    out
}

fn prune_nulls(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(prune_nulls);
    }
}

/// Several edits as one patch: objects merge, arrays and nulls replace. A
/// replaced path is kept only while the patch still sets it (a later edit
/// may delete its parent).
pub fn combine(edits: &[Edit]) -> Edit {
    let mut patch = json!({});
    let mut replace = None;
    for edit in edits {
        merge(&mut patch, &edit.patch);
        if edit.replace.is_some() {
            replace = edit.replace.clone();
        }
    }
    let replace =
        replace.filter(|(_, pointer)| patch.pointer(pointer).is_some_and(Value::is_array));
    Edit { patch, replace }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                match into.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into, from) => *into = from.clone(),
    }
}

/// True when every value of `patch` is already in `config` (so applying it
/// would change nothing).
pub fn contains(config: &Value, patch: &Value) -> bool {
    match (config, patch) {
        (Value::Object(config), Value::Object(patch)) => patch
            .iter()
            .all(|(k, v)| config.get(k).is_some_and(|c| contains(c, v))),
        (config, patch) => config == patch,
    }
}

/// The OpenClaw command line: a program found on PATH or given.
pub struct OpenClaw {
    pub program: PathBuf,
}

/// What one OpenClaw command printed.
pub struct Output {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The last lines of what it said, for a message.
    pub fn said(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| crate::redact::clean(l.trim(), 300))
            .filter(|l| !l.is_empty())
            .collect();
        lines.dedup();
        lines[lines.len().saturating_sub(6)..].join("\n    ")
    }
}

impl OpenClaw {
    /// `--openclaw PATH`, else `openclaw` on PATH.
    pub fn find(given: Option<&Path>) -> Option<OpenClaw> {
        if let Some(path) = given {
            return Some(OpenClaw {
                program: path.to_path_buf(),
            });
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(Os::CURRENT.openclaw_launcher()))
            .find(|candidate| candidate.is_file())
            .map(|program| OpenClaw { program })
    }

    /// Runs `openclaw ARGS`, bounded in time and output, without stdin. It
    /// runs in a process group of its own, stopped whole when it overruns;
    /// once it has exited, its output is read for a moment more only (a
    /// process it started may hold the pipes open).
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = child::in_own_group(&mut command).spawn().map_err(|e| {
            Error::failed(format!("cannot run {}: {e}", self.program.display()))
                .with_hint("pass the path of OpenClaw's command with --openclaw PATH")
        })?;
        let out = Collected::start(child.stdout.take(), MAX_OUTPUT);
        let err = Collected::start(child.stderr.take(), MAX_OUTPUT);
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > CLI_TIMEOUT => {
                    child::stop_group(&mut child, child::STOP_GRACE);
                    return Err(Error::transient(format!(
                        "openclaw {} did not finish within {} s",
                        args.first().copied().unwrap_or(""),
                        CLI_TIMEOUT.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    child::stop_group(&mut child, Duration::ZERO);
                    return Err(Error::failed(e.to_string()));
                }
            }
        };
        let deadline = Instant::now() + OUTPUT_GRACE;
        Ok(Output {
            ok: status.success(),
            code: status.code(),
            stdout: out.finish(deadline),
            stderr: err.finish(deadline),
        })
    }

    /// The active config, when OpenClaw wrote it as JSON (a hand-written
    /// JSON5 file is not read: OpenClaw's own commands then decide).
    pub fn config(&self) -> Option<Value> {
        let path = self.config_file()?;
        let bytes = crate::safe_fs::read_capped(&path, 8 * 1024 * 1024).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Where OpenClaw keeps its config (`openclaw config file`), which need
    /// not exist yet.
    pub fn config_file(&self) -> Option<PathBuf> {
        let out = self.run(&["config", "file"]).ok().filter(|o| o.ok)?;
        let path = out
            .stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())?
            .trim()
            .to_string();
        match path.strip_prefix("~/") {
            Some(rest) => Some(PathBuf::from(std::env::var_os("HOME")?).join(rest)),
            None => Some(PathBuf::from(path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup_for(name: &str) -> (Names, Value) {
        let names = Names::of(&ProfileName::parse(name).unwrap()).unwrap();
        let patch = setup_patch(
            &SetupInputs {
                names: &names,
                binary: Path::new("/opt/bin/minimax-portal-auth"),
                state_home: Path::new("/home/u/.local/state/minimax-portal-auth"),
                base_url: "https://api.minimaxi.com/anthropic",
                set_default: name == "default",
            },
            &catalog::load().unwrap(),
        );
        (names, patch)
    }

    #[test]
    fn the_patch_runs_this_binary_for_the_profile() {
        let (names, patch) = setup_for("default");
        let exec = &patch["secrets"]["providers"]["minimax-portal-auth"];
        assert_eq!(exec["source"], "exec");
        assert_eq!(exec["args"], json!(["token", "--profile", "default"]));
        assert_eq!(exec["jsonOnly"], false);
        assert!(exec["passEnv"].as_array().unwrap().contains(&json!("HOME")));
        let provider = &patch["models"]["providers"]["minimax-portal"];
        assert_eq!(provider["authHeader"], true);
        assert_eq!(provider["apiKey"]["id"], "minimax-portal:default");
        assert_eq!(provider["apiKey"]["provider"], names.secret_provider);
        assert_eq!(
            patch["agents"]["defaults"]["model"]["primary"],
            "minimax-portal/MiniMax-M3"
        );
        assert!(contains(&patch, &patch));
    }

    /// Every system's `passEnv`, checked on any machine: OpenClaw takes only
    /// upper-case names; Windows needs its system folder and the state
    /// folder's parent; the Secret Service needs the session bus.
    #[test]
    fn pass_env_per_system() {
        for os in [Os::Linux, Os::Mac, Os::Windows] {
            let vars = pass_env(os);
            for var in &vars {
                let mut chars = var.chars();
                assert!(
                    chars.next().is_some_and(|c| c.is_ascii_uppercase())
                        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                    "{os:?}: OpenClaw refuses the passEnv entry {var}"
                );
            }
            assert!(vars.contains(&"MINIMAX_PORTAL_AUTH_STORE"), "{os:?}");
            let windows = ["USERPROFILE", "LOCALAPPDATA", "SYSTEMROOT", "WINDIR"];
            let bus = ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"];
            for var in windows {
                assert_eq!(vars.contains(&var), os == Os::Windows, "{os:?} {var}");
            }
            for var in bus {
                assert_eq!(vars.contains(&var), os == Os::Linux, "{os:?} {var}");
            }
        }
        let (_, patch) = setup_for("default");
        assert_eq!(
            patch["secrets"]["providers"]["minimax-portal-auth"]["passEnv"],
            json!(pass_env(Os::CURRENT))
        );
    }

    #[test]
    fn the_openclaw_launcher_per_system() {
        assert_eq!(Os::Windows.openclaw_launcher(), "openclaw.cmd");
        assert_eq!(Os::Mac.openclaw_launcher(), "openclaw");
        assert_eq!(Os::Linux.openclaw_launcher(), "openclaw");
    }

    #[test]
    fn another_profile_gets_its_own_provider_and_aliases() {
        assert!(Names::of(&ProfileName::parse("Work").unwrap()).is_err());
        let (names, patch) = setup_for("work");
        assert_eq!(names.provider, "minimax-portal-work");
        assert_eq!(names.secret_provider, "minimax-portal-auth-work");
        assert_eq!(
            patch["agents"]["defaults"]["models"]["minimax-portal-work/MiniMax-M3"]["alias"],
            "minimax-m3-work"
        );
        assert!(patch["agents"]["defaults"].get("model").is_none());
        assert!(Names::of(&ProfileName::parse(&"x".repeat(41)).unwrap()).is_err());
    }

    #[test]
    fn only_plain_ids_count_as_ref_ids() {
        assert!(is_ref_id("minimax-portal:default"));
        assert!(is_ref_id("a/b#c.d_e-f"));
        assert!(is_ref_id(&"a".repeat(256)));
        assert!(!is_ref_id(&"a".repeat(257)));
        for bad in [
            "",
            "-x",
            "x; curl e | sh; #",
            "x y",
            "\u{1b}[2J",
            "a\u{202e}b",
            "a$b",
        ] {
            assert!(!is_ref_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn removal_undoes_the_setup() {
        let (names, patch) = setup_for("default");
        let config = applied(&json!({"gateway": {"port": 1}}), &patch);
        let edits = removal_edits(&names, &catalog::load().unwrap(), true);
        let all = combine(&edits);
        let after = applied(&config, &all.patch);
        assert!(after.pointer("/models/providers/minimax-portal").is_none());
        assert!(
            after["secrets"]["providers"]
                .as_object()
                .unwrap()
                .is_empty()
        );
        assert_eq!(after["gateway"]["port"], 1);

        // A config that is mostly this setup is taken apart in steps, each
        // leaving more than half, and every step keeps the reference valid.
        let groups = plan_removal(&config, &edits);
        assert!(groups.len() > 1, "{} step(s)", groups.len());
        let size = |v: &Value| serde_json::to_string_pretty(v).unwrap().len();
        let mut state = config.clone();
        for group in &groups {
            let next = applied(&state, &combine(group).patch);
            assert!(
                size(&next) * 2 >= size(&state),
                "{} -> {}: {}",
                size(&state),
                size(&next),
                combine(group).patch
            );
            let key = next.pointer("/models/providers/minimax-portal/apiKey");
            let secret = next.pointer("/secrets/providers/minimax-portal-auth");
            assert!(key.is_none() || secret.is_some(), "a dangling reference");
            state = next;
        }
        assert_eq!(state, after);
    }
}
