//! `plugin.toml`, the manifest a host reads to run the plugin and to find
//! its profiles. [`Manifest::parse`] checks one the way a host should before
//! it runs anything the manifest names; every problem names its field.
//! [`Manifest::built_in`] is the plugin's own, compiled in: the one source
//! of the model catalog (`catalog.rs` builds on these types).

use crate::error::{Error, Result};
use crate::paths;
use crate::profile::ProfileName;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The manifest, built into the binary so that it works offline.
const BUILT_IN: &str = include_str!("../plugin.toml");

/// plugin.toml. A string a host cannot do without is `""` when the manifest
/// leaves it out; [`Manifest::parse`] refuses that.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// The program every command line starts with, found on `PATH`.
    #[serde(default)]
    pub binary: String,
    pub provider: Provider,
    pub models: Catalog,
    /// What `onboard --auth-choice <id>` runs.
    #[serde(default)]
    pub auth_choices: Vec<AuthChoice>,
    /// Run on every host start, before the host reads the profiles.
    pub startup: Hook,
    /// Prints a valid access token on stdout and nothing else.
    pub token: Hook,
    pub status: Option<Hook>,
    /// Exit codes by name: `ok`, `needs_login`, `transient`, ...
    #[serde(default)]
    pub exit_codes: BTreeMap<String, i32>,
    pub profile: ProfileSection,
}

/// A model as plugin.toml declares it (`[[models.catalog]]`).
#[derive(Debug, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub alias: String,
    #[serde(deserialize_with = "positive")]
    pub context_window: u64,
    #[serde(deserialize_with = "positive")]
    pub max_tokens: u64,
    #[serde(deserialize_with = "string_list")]
    pub input: Vec<String>,
    #[serde(deserialize_with = "boolean")]
    pub reasoning: bool,
}

/// plugin.toml's `[models]`: checked by [`Manifest::parse`].
#[derive(Debug, Deserialize)]
pub struct Catalog {
    #[serde(default)]
    pub default: String,
    #[serde(rename = "catalog", default)]
    pub models: Vec<Model>,
}

/// `[provider]`: the model provider the plugin adds to a host.
#[derive(Debug, Deserialize)]
pub struct Provider {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub label: String,
    /// The model base URL of each region, unless the profile names another.
    #[serde(default)]
    pub regions: BTreeMap<String, RegionEntry>,
}

/// One region of `[provider.regions]`.
#[derive(Debug, Deserialize)]
pub struct RegionEntry {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub base_url: String,
}

/// One `[[auth_choices]]` entry: a way to sign in that a host offers, and
/// the command line that does it.
#[derive(Debug, Deserialize)]
pub struct AuthChoice {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub label: String,
    #[serde(deserialize_with = "string_list")]
    pub command: Vec<String>,
}

/// A command line the host runs at some moment.
#[derive(Debug, Deserialize)]
pub struct Hook {
    #[serde(deserialize_with = "string_list")]
    pub command: Vec<String>,
}

/// Where the profiles live, so that a host can read them without the plugin.
#[derive(Debug, Deserialize)]
pub struct ProfileSection {
    /// The host's id of a profile; `{name}` stands for the profile's name.
    #[serde(default)]
    pub id: String,
    /// The variable that pins the store: `auto`, `keyring` or `file`.
    #[serde(default)]
    pub store_env: String,
    pub keyring: KeyringSection,
    pub file: FileSection,
}

/// `[profile.keyring]`: where in the OS keyring a profile is.
#[derive(Debug, Deserialize)]
pub struct KeyringSection {
    #[serde(default)]
    pub service: String,
    /// `{name}` stands for the profile's name.
    #[serde(default)]
    pub account: String,
    /// The keyring's name by system: "Secret Service", "Keychain", ...
    #[serde(default)]
    pub backends: BTreeMap<String, String>,
}

/// `[profile.file]`: where a profile's file is when the keyring is not used.
#[derive(Debug, Deserialize)]
pub struct FileSection {
    /// `{state_home}` and `{name}` stand for the state folder and the name.
    #[serde(default)]
    pub path: String,
    /// The variable that names the state folder, when set.
    #[serde(default)]
    pub state_home_env: String,
    /// Otherwise, by system, the first candidate whose variable is set.
    #[serde(default)]
    pub state_home: BTreeMap<String, Vec<Candidate>>,
}

/// A possible state folder: the variable `env`'s value, joined with `join`.
#[derive(Debug, Deserialize)]
pub struct Candidate {
    pub env: String,
    pub join: String,
}

impl Manifest {
    /// Reads and checks a manifest. The problems, when there are any, each
    /// name the field (`auth_choices[1].command must be ...`).
    ///
    /// ```
    /// use minimax_portal_auth::Manifest;
    /// let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"))?;
    /// let manifest = Manifest::parse(&text).map_err(|problems| problems.join("; "))?;
    /// assert_eq!(manifest.startup.command[0], manifest.binary);
    ///
    /// let broken = text.replace("default = \"MiniMax-M3\"", "default = \"MiniMax-M9\"");
    /// let problems = Manifest::parse(&broken).unwrap_err();
    /// assert_eq!(
    ///     problems,
    ///     [r#"models.default "MiniMax-M9" must be the id of a model in models.catalog"#]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(text: &str) -> std::result::Result<Manifest, Vec<String>> {
        let document = toml::Deserializer::parse(text).map_err(|e| {
            let before = e.span().and_then(|s| text.get(..s.start)).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            vec![format!("not valid TOML (line {line}): {}", e.message())]
        })?;
        let manifest: Manifest =
            serde_path_to_error::deserialize(document).map_err(|e| vec![describe(&e)])?;
        manifest.checked()
    }

    /// The plugin's own manifest, compiled into this library.
    ///
    /// ```
    /// let manifest = minimax_portal_auth::Manifest::built_in()?;
    /// assert_eq!(manifest.id, "minimax-portal-auth");
    /// assert_eq!(manifest.profile.id, "minimax-portal:{name}");
    /// # Ok::<(), minimax_portal_auth::Error>(())
    /// ```
    pub fn built_in() -> Result<Manifest> {
        // Plain serde, not `parse`: naming the field of a serde error is for
        // manifests a host reads (the unit tests keep this one valid), and
        // the binary then carries no second, wrapped copy of the decoder.
        toml::from_str::<Manifest>(BUILT_IN)
            .map_err(|e| vec![e.message().to_string()])
            .and_then(Manifest::checked)
            .map_err(|problems| {
                Error::failed(format!(
                    "the built-in plugin.toml is refused: {}",
                    problems.join("; ")
                ))
            })
    }

    fn checked(self) -> std::result::Result<Manifest, Vec<String>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }

    /// What the types do not say: strings that must not be empty, ids that
    /// must be unique, command lines that must start with the binary.
    fn problems(&self) -> Vec<String> {
        let mut problems = self.empty_strings();
        let profile = &self.profile;
        for (field, value) in [
            ("profile.id", &profile.id),
            ("profile.keyring.account", &profile.keyring.account),
            ("profile.file.path", &profile.file.path),
        ] {
            if !value.is_empty() && !value.contains("{name}") {
                problems.push(format!("{field} must contain {{name}}"));
            }
        }
        problems.extend(self.foreign_commands());
        let choice_ids = self.auth_choices.iter().map(|c| c.id.as_str());
        problems.extend(twice("auth_choices", choice_ids));
        if self.auth_choices.is_empty() {
            problems.push("auth_choices must be a non-empty list of tables".to_string());
        }
        let model_ids = self.models.models.iter().map(|m| m.id.as_str());
        problems.extend(twice("models.catalog", model_ids));
        let default = &self.models.default;
        if self.models.models.is_empty() {
            problems.push("models.catalog must be a non-empty list of tables".to_string());
        } else if !default.is_empty() && !self.models.models.iter().any(|m| m.id == *default) {
            problems.push(format!(
                "models.default {default:?} must be the id of a model in models.catalog"
            ));
        }
        problems
    }

    /// The strings a host needs that are missing or blank.
    fn empty_strings(&self) -> Vec<String> {
        let profile = &self.profile;
        let mut fields = vec![
            ("id".to_string(), &self.id),
            ("version".to_string(), &self.version),
            ("binary".to_string(), &self.binary),
            ("provider.id".to_string(), &self.provider.id),
            ("models.default".to_string(), &self.models.default),
            ("profile.id".to_string(), &profile.id),
            ("profile.store_env".to_string(), &profile.store_env),
            (
                "profile.keyring.service".to_string(),
                &profile.keyring.service,
            ),
            (
                "profile.keyring.account".to_string(),
                &profile.keyring.account,
            ),
            ("profile.file.path".to_string(), &profile.file.path),
            (
                "profile.file.state_home_env".to_string(),
                &profile.file.state_home_env,
            ),
        ];
        for (region, entry) in &self.provider.regions {
            fields.push((
                format!("provider.regions.{region}.base_url"),
                &entry.base_url,
            ));
        }
        for (i, choice) in self.auth_choices.iter().enumerate() {
            fields.push((format!("auth_choices[{i}].id"), &choice.id));
            fields.push((format!("auth_choices[{i}].label"), &choice.label));
        }
        for (i, model) in self.models.models.iter().enumerate() {
            fields.push((format!("models.catalog[{i}].id"), &model.id));
            fields.push((format!("models.catalog[{i}].alias"), &model.alias));
        }
        let blank = fields
            .into_iter()
            .filter(|(_, value)| value.trim().is_empty());
        blank
            .map(|(field, _)| format!("{field} must be a non-empty string"))
            .collect()
    }

    /// Command lines that do not start with the plugin's binary: a host
    /// runs nothing else on the plugin's behalf.
    fn foreign_commands(&self) -> Vec<String> {
        let mut lines = vec![
            ("startup.command".to_string(), &self.startup.command),
            ("token.command".to_string(), &self.token.command),
        ];
        if let Some(status) = &self.status {
            lines.push(("status.command".to_string(), &status.command));
        }
        for (i, choice) in self.auth_choices.iter().enumerate() {
            lines.push((format!("auth_choices[{i}].command"), &choice.command));
        }
        let binary = &self.binary;
        let foreign = lines.into_iter().filter_map(|(field, line)| {
            let first = line
                .first()
                .filter(|first| !binary.is_empty() && *first != binary)?;
            Some(format!(
                "{field}[0] must be the plugin's binary {binary:?}, not {first:?}"
            ))
        });
        foreign.collect()
    }
}

/// `table[i].id "x" is used twice` for each id seen before.
fn twice<'a>(table: &str, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.enumerate()
        .filter(|(_, id)| !id.is_empty() && !seen.insert(*id))
        .map(|(i, id)| format!("{table}[{i}].id {id:?} is used twice"))
        .collect()
}

/// A serde error with its field: the checks below say what the value
/// "must" be; serde's own messages read better after a colon.
fn describe(e: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let (path, message) = (e.path().to_string(), e.inner().message());
    if path == "." {
        message.to_string()
    } else if message.starts_with("must ") {
        format!("{path} {message}")
    } else {
        format!("{path}: {message}")
    }
}

// The checks run on a plain TOML value: a failed inner conversion would make
// the error name the list item, not the field.

/// A non-empty list of non-empty strings: a command line, a model's inputs.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    let value = toml::Value::deserialize(d)?;
    let words: Option<Vec<String>> = value.as_array().and_then(|items| {
        items
            .iter()
            .map(|w| w.as_str().filter(|w| !w.is_empty()).map(str::to_string))
            .collect()
    });
    words
        .filter(|w| !w.is_empty())
        .ok_or_else(|| D::Error::custom("must be a non-empty list of strings"))
}

pub(crate) fn positive<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let value = toml::Value::deserialize(d)?;
    value
        .as_integer()
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| D::Error::custom("must be a positive integer"))
}

pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    let value = toml::Value::deserialize(d)?;
    value
        .as_bool()
        .ok_or_else(|| D::Error::custom("must be true or false"))
}

impl ProfileSection {
    /// The host's id of profile `name` (`minimax-portal:work`).
    pub fn id_of(&self, name: &ProfileName) -> String {
        self.id.replace("{name}", name.as_str())
    }

    /// The profile name in a host's profile id, when the id has this form.
    ///
    /// ```
    /// let manifest = minimax_portal_auth::Manifest::built_in()?;
    /// let name = manifest.profile.name_in("minimax-portal:work").unwrap();
    /// assert_eq!(manifest.profile.id_of(&name), "minimax-portal:work");
    /// assert!(manifest.profile.name_in("other:work").is_none());
    /// # Ok::<(), minimax_portal_auth::Error>(())
    /// ```
    pub fn name_in(&self, profile_id: &str) -> Option<ProfileName> {
        let (prefix, suffix) = self.id.split_once("{name}")?;
        let name = profile_id.strip_prefix(prefix)?.strip_suffix(suffix)?;
        ProfileName::parse(name).ok()
    }
}

impl FileSection {
    /// The state folder in this process's environment, checked
    /// (`paths::checked_state_home`).
    pub fn state_home(&self) -> Result<PathBuf> {
        paths::checked_state_home(&self.state_home_env, self.state_home_in(env_var), env_var)
    }

    /// The state folder in `env`: `state_home_env` when it is set, else
    /// the first candidate of this system whose variable is set to an
    /// absolute path (a relative one is ignored, as the XDG spec says).
    ///
    /// ```
    /// use std::path::PathBuf;
    /// let file = minimax_portal_auth::Manifest::built_in()?.profile.file;
    /// let env = |name: &str| match name {
    ///     "MINIMAX_PORTAL_AUTH_HOME" => Some("/srv/state".to_string()),
    ///     _ => None,
    /// };
    /// assert_eq!(file.state_home_in(env), Some(PathBuf::from("/srv/state")));
    /// if cfg!(target_os = "linux") {
    ///     let env = |name: &str| (name == "HOME").then(|| "/home/u".to_string());
    ///     let home = PathBuf::from("/home/u/.local/state/minimax-portal-auth");
    ///     assert_eq!(file.state_home_in(env), Some(home));
    /// }
    /// assert_eq!(file.state_home_in(|_| None), None);
    /// if cfg!(target_os = "linux") {
    ///     let env = |name: &str| match name {
    ///         "XDG_STATE_HOME" => Some("relative/state".to_string()),
    ///         "HOME" => Some("/home/u".to_string()),
    ///         _ => None,
    ///     };
    ///     let home = PathBuf::from("/home/u/.local/state/minimax-portal-auth");
    ///     assert_eq!(file.state_home_in(env), Some(home));
    /// }
    /// # Ok::<(), minimax_portal_auth::Error>(())
    /// ```
    pub fn state_home_in(&self, env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let candidates: Vec<(&str, &str)> = paths::of_this_system(|os| self.state_home.get(os))
            .into_iter()
            .flatten()
            .map(|c| (c.env.as_str(), c.join.as_str()))
            .collect();
        paths::state_home_in(&self.state_home_env, &candidates, env)
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(from: &str, to: &str) -> Vec<String> {
        assert_eq!(BUILT_IN.matches(from).count(), 1, "{from:?}");
        Manifest::parse(&BUILT_IN.replace(from, to)).unwrap_err()
    }

    #[test]
    fn the_built_in_manifest_passes() {
        let manifest = Manifest::built_in().unwrap();
        assert_eq!(manifest.auth_choices.len(), 3);
        assert_eq!(manifest.exit_codes["needs_login"], 3);
    }

    #[test]
    fn problems_name_their_field() {
        assert_eq!(
            broken(r#"service = "minimax-portal-auth""#, r#"service = 5"#),
            ["profile.keyring.service: invalid type: integer `5`, expected a string"]
        );
        assert_eq!(
            broken(r#"account = "minimax-portal:{name}""#, r#"account = "x""#),
            ["profile.keyring.account must contain {name}"]
        );
        assert_eq!(
            broken(r#"id = "minimax-cn-oauth""#, r#"id = "minimax-portal""#),
            [r#"auth_choices[2].id "minimax-portal" is used twice"#]
        );
        assert_eq!(
            broken(
                "alias = \"minimax-m2.1\"\ncontext_window = 200000",
                "alias = \"minimax-m2.1\"\ncontext_window = 0",
            ),
            ["models.catalog[0].context_window must be a positive integer"]
        );
        assert_eq!(
            broken("[startup]", "[nothing]"),
            ["missing field `startup`"]
        );
        assert!(broken("[startup]", "[startup")[0].starts_with("not valid TOML (line "));
    }

    #[test]
    fn every_problem_is_listed() {
        let text = BUILT_IN
            .replace(r#"version = "0.1.0""#, "")
            .replace(r#"binary = "minimax-portal-auth""#, r#"binary = "mpa""#);
        let problems = Manifest::parse(&text).unwrap_err();
        assert_eq!(problems[0], "version must be a non-empty string");
        // Every command line names another binary now.
        assert_eq!(problems.len(), 1 + 6, "{problems:#?}");
    }
}
