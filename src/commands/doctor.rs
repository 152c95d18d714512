//! `doctor`: each check with pass/fail and the command that fixes it.

use super::print_json;
use crate::catalog;
use crate::cli::DoctorArgs;
use crate::clock::now_ms;
use crate::error::Result;
use crate::fix;
use crate::json::{Check, CheckStatus, DoctorOutput};
use crate::output::print_stdout;
use crate::portal::http::reach_blocking;
use crate::profile::{PROVIDER, ProfileName};
use crate::region::{OAUTH_BASE_ENV, Region};
use crate::safe_fs;
use crate::store::{Loaded, StoreKind, StoreMode, Stores};
use crate::ui::{self, fit, width};
use serde_json::Value;
use std::path::Path;

/// Clocks further apart than this break token expiry maths.
const MAX_SKEW_MS: i64 = 60_000;
/// A host config larger than this is not read.
const MAX_HOST_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// The constructors the checks below use.
impl Check {
    fn new(status: CheckStatus, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: None,
            hint: None,
        }
    }
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(CheckStatus::Pass, name, detail)
    }
    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            fix: Some(fix.into()),
            ..Check::new(CheckStatus::Fail, name, detail)
        }
    }
    /// A failure that no single command fixes: advice only.
    fn advise(
        name: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check {
            hint: Some(hint.into()),
            ..Check::new(CheckStatus::Fail, name, detail)
        }
    }
    fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(CheckStatus::Skip, name, detail)
    }
}

pub fn run(stores: &Stores, json: bool, args: DoctorArgs) -> Result<i32> {
    let mut checks = vec![keyring_check(stores), state_folder_check(stores.home())];
    let (profile_checks, regions) = profile_checks(stores);
    super::warnings::tell(stores);
    checks.extend(portal_checks(&regions)?);
    checks.extend(profile_checks);
    if let Some(path) = &args.host_config {
        checks.extend(host_config_checks(path));
    }
    let failed = checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Fail))
        .count();
    if json {
        print_json(&DoctorOutput {
            ok: failed == 0,
            checks,
        })?;
    } else {
        print_stdout(&fit(&render(&checks, failed), width()))?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// One line per check (✓ passed, ✗ failed, - skipped), each failure with
/// its fix, and a verdict.
fn render(checks: &[Check], failed: usize) -> String {
    let mut text = String::new();
    for check in checks {
        let mark = match check.status {
            CheckStatus::Pass => "✓",
            CheckStatus::Fail => "✗",
            CheckStatus::Skip => "-",
        };
        text.push_str(&format!("{mark} {}: {}\n", check.name, check.detail));
        if let Some(hint) = &check.hint {
            text.push_str(&format!("    {hint}\n"));
        }
        if let Some(fix) = &check.fix {
            text.push_str(&format!("    fix: {fix}\n"));
        }
    }
    let ran = checks
        .iter()
        .filter(|c| !matches!(c.status, CheckStatus::Skip))
        .count();
    if failed == 0 {
        text.push_str(&format!("All {ran} checks passed.\n"));
    } else {
        text.push_str(&format!("{failed} of {ran} checks failed.\n"));
    }
    text
}

/// The keyring answers; or, in auto mode, it does not and the 0600 files
/// it falls back to work as designed (a pass with a note); or the keyring
/// was chosen and does not answer (a failure).
fn keyring_check(stores: &Stores) -> Check {
    let name = format!("keyring ({})", stores.keyring_backend());
    if stores.mode() == StoreMode::File {
        return Check::skip(name, "not used: the store is the file");
    }
    let why = match stores.probe_keyring() {
        Ok(()) => {
            let cache = format!("answers; kernel cache {}", stores.kernel_cache_state());
            return Check::pass(name, cache);
        }
        Err(why) => why,
    };
    let home = stores.home();
    // A setting lasts, where an export lasts one shell.
    let for_good = format!(
        "printf 'store = \"file\"\\n' >> {}",
        safe_fs::shell_quote(&home.join("config.toml").display().to_string())
    );
    if stores.mode() == StoreMode::Auto && safe_fs::dir_problem(home).is_none() {
        return Check {
            hint: Some(format!(
                "note: profiles are kept in 0600 files in {} instead, as designed for a machine \
                 without a keyring. To choose the files for good (and not try the keyring), \
                 run:\n      {for_good}",
                home.display()
            )),
            ..Check::pass(name, format!("not reachable ({why}); using the files"))
        };
    }
    Check {
        fix: Some(for_good),
        ..Check::advise(
            name,
            why,
            "start or unlock the keyring (Linux: gnome-keyring or KeePassXC's Secret \
             Service), or keep profiles in 0600 files for good (config.toml's `store`):",
        )
    }
}

/// Secrets live in the state folder: it must be the user's own, closed to
/// others, and so must every folder and file in it.
fn state_folder_check(home: &Path) -> Check {
    let name = "state folder";
    if !home.exists() {
        return Check::pass(name, format!("{} (not created yet)", home.display()));
    }
    let mut folders = vec![home.to_path_buf()];
    folders.extend(
        ["profiles", "api-keys", "recovery", "locks"]
            .iter()
            .map(|f| home.join(f))
            .filter(|f| f.exists()),
    );
    for dir in &folders {
        if let Some((why, fix)) = safe_fs::dir_problem(dir) {
            return Check::fail(name, format!("{}: {why}", dir.display()), fix);
        }
    }
    #[cfg(unix)]
    if let Some((detail, fix)) = secret_folders_problem(&folders[1..]) {
        return Check::fail(name, detail, fix);
    }
    Check::pass(name, format!("{} (yours, private)", home.display()))
}

/// The first thing wrong with the folders that hold secrets, and its fix:
/// a folder open to readers, then a file in one that is not a private
/// regular file or was left by an interrupted save.
#[cfg(unix)]
fn secret_folders_problem(folders: &[std::path::PathBuf]) -> Option<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    for dir in folders {
        let mode = std::fs::metadata(dir).map_or(0, |m| m.permissions().mode() & 0o777);
        if mode & 0o077 != 0 {
            return Some((
                format!("{} is open to others (mode {mode:o})", dir.display()),
                format!(
                    "chmod 700 {}",
                    safe_fs::shell_quote(&dir.display().to_string())
                ),
            ));
        }
    }
    folders
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .find_map(|entry| secret_file_problem(&entry))
}

/// What is wrong with one entry of a secrets folder, and its fix.
#[cfg(unix)]
fn secret_file_problem(entry: &std::fs::DirEntry) -> Option<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    let path = entry.path();
    let meta = std::fs::symlink_metadata(&path).ok()?;
    let quoted = safe_fs::shell_quote(&path.display().to_string());
    if !meta.is_file() {
        return Some((
            format!("{} is not a regular file", path.display()),
            format!("rm {quoted}"),
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Some((
            format!("{} is open to others (mode {mode:o})", path.display()),
            format!("chmod 600 {quoted}"),
        ));
    }
    if entry.file_name().to_string_lossy().contains(".json.tmp-") {
        return Some((
            format!("{} was left by an interrupted save", path.display()),
            "minimax-portal-auth refresh --all".to_string(),
        ));
    }
    None
}

/// Each region that holds a profile (Global when none does): its OAuth host
/// answers, and its clock agrees with ours.
fn portal_checks(regions: &[Region]) -> Result<Vec<Check>> {
    let overridden = std::env::var(OAUTH_BASE_ENV).is_ok_and(|v| !v.trim().is_empty());
    let mut regions = regions.to_vec();
    regions.sort_by_key(|r| r.as_str());
    regions.dedup();
    if overridden || regions.is_empty() {
        regions = vec![Region::Global];
    }
    let mut targets = Vec::new();
    for region in regions {
        let label = if overridden {
            format!("portal ({OAUTH_BASE_ENV})")
        } else {
            format!("portal {}", region.label())
        };
        targets.push((label, region.oauth_base()?));
    }
    let urls: Vec<_> = targets.iter().map(|(_, url)| url.clone()).collect();
    let reached = reach_blocking(&urls)?;
    let mut checks = Vec::new();
    let mut skew_checked = false;
    for ((label, url), reached) in targets.into_iter().zip(reached) {
        match reached {
            Ok(answer) => {
                checks.push(Check::pass(
                    label,
                    format!(
                        "{} reachable in {} ms",
                        url.host_str().unwrap_or(""),
                        answer.elapsed.as_millis()
                    ),
                ));
                if !skew_checked && let Some(date) = answer.date {
                    skew_checked = true;
                    checks.push(skew_check(&date));
                }
            }
            Err(e) => {
                checks.push(Check::advise(
                    label,
                    e.message,
                    "check the network, HTTPS_PROXY/NO_PROXY and SSL_CERT_FILE",
                ));
            }
        }
    }
    if !skew_checked {
        checks.push(Check::skip(
            "clock",
            "no portal answered with a Date header",
        ));
    }
    Ok(checks)
}

fn skew_check(date: &str) -> Check {
    let Ok(theirs) = chrono::DateTime::parse_from_rfc2822(date) else {
        return Check::skip(
            "clock",
            format!("the portal's Date header {date:?} is not a date"),
        );
    };
    let skew = now_ms() - theirs.timestamp_millis();
    // Date has one-second resolution.
    if skew.abs() <= MAX_SKEW_MS {
        Check::pass(
            "clock",
            format!("within {} s of the portal's", (skew.abs() + 999) / 1000),
        )
    } else {
        Check::fail(
            "clock",
            format!(
                "{} s {} the portal's: token expiry will be misjudged",
                skew.abs() / 1000,
                if skew > 0 { "ahead of" } else { "behind" }
            ),
            "timedatectl set-ntp true",
        )
    }
}

/// Each profile's health, and the regions that hold one.
fn profile_checks(stores: &Stores) -> (Vec<Check>, Vec<Region>) {
    let names = match stores.names() {
        Ok(names) => names,
        Err(e) => {
            return (
                vec![Check::advise("profiles", e.message, "see the message")],
                Vec::new(),
            );
        }
    };
    let mut checks = Vec::new();
    let mut regions = Vec::new();
    for name in names {
        let label = format!("profile {}", name.profile_id());
        match stores.load(&name) {
            Ok(None) => {}
            Ok(Some(loaded)) => {
                regions.push(loaded.profile.region);
                checks.push(loaded_profile_check(label, &name, &loaded));
            }
            Err(e) => checks.push(Check::fail(
                label,
                e.message,
                e.fix.unwrap_or_else(|| fix::login(&name, None)),
            )),
        }
    }
    if checks.is_empty() {
        checks.push(Check::fail(
            "profiles",
            "no MiniMax profile is stored",
            "minimax-portal-auth login",
        ));
    }
    (checks, regions)
}

/// A profile that could be read: its region, where it waits when that is
/// not the usual place, and how long its access token has.
fn loaded_profile_check(label: String, name: &ProfileName, loaded: &Loaded) -> Check {
    let profile = &loaded.profile;
    // `status` shows where; here only what is not the usual.
    let place = match loaded.stored.store {
        StoreKind::Keyring => " (keyring)",
        StoreKind::File => "",
        StoreKind::Recovery => " (waiting in the recovery file)",
    };
    if profile.needs_login {
        return Check::fail(
            label,
            format!(
                "{}{place}: the portal rejected its refresh token",
                profile.region.label()
            ),
            fix::login(name, Some(profile.region)),
        );
    }
    let left = profile.expires_in_ms(now_ms());
    let when = if left > 0 {
        format!("access token valid for {}", ui::duration(left))
    } else {
        "access token expired; refreshed on next use".to_string()
    };
    Check::pass(label, format!("{}{place}; {when}", profile.region.label()))
}

/// The host's MiniMax page: "Unknown model: minimax-portal/..." means the
/// host config lacks the provider or its catalog.
fn host_config_checks(path: &Path) -> Vec<Check> {
    let name = "host config";
    let config: Value = match read_json(path) {
        Ok(value) => value,
        Err(why) => {
            return vec![Check::fail(
                name,
                why,
                "point --host-config at the host's config JSON",
            )];
        }
    };
    let Ok(catalog) = catalog::load() else {
        return vec![Check::fail(
            name,
            "the built-in catalog is unreadable",
            "reinstall the plugin",
        )];
    };
    let provider = &config["models"]["providers"][PROVIDER];
    if !provider.is_object() {
        return vec![Check::fail(
            name,
            format!(
                "{} has no models.providers[\"{PROVIDER}\"]: the host reports \"Unknown model: {PROVIDER}/...\"",
                path.display()
            ),
            REFIX_HOST,
        )];
    }
    let listed: Vec<&str> = provider["models"]
        .as_array()
        .map(|models| models.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    let mut checks = vec![
        host_catalog_check(&catalog, &listed),
        host_provider_check(provider),
    ];
    checks.extend(host_default_model_check(&config, &listed));
    checks.push(host_auth_profile_check(&config, provider));
    checks
}

/// What fixes the host's config: setting it up again.
const REFIX_HOST: &str = "minimax-portal-auth openclaw setup";

/// Every model of the catalog is among the provider's `listed` ones.
fn host_catalog_check(catalog: &catalog::Catalog, listed: &[&str]) -> Check {
    let missing: Vec<&str> = catalog
        .models
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| !listed.contains(id))
        .collect();
    if missing.is_empty() {
        Check::pass(
            "host catalog",
            format!("all {} models listed", catalog.models.len()),
        )
    } else {
        Check::fail(
            "host catalog",
            format!(
                "missing {}: the host reports \"Unknown model\" for them",
                missing.join(", ")
            ),
            REFIX_HOST,
        )
    }
}

/// The provider speaks the Anthropic API at an http(s) base URL, with the
/// token in the Authorization header.
fn host_provider_check(provider: &Value) -> Check {
    let settings_ok = provider["api"] == "anthropic-messages"
        && provider["authHeader"] == true
        && provider["baseUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
    if settings_ok {
        Check::pass(
            "host provider",
            format!("baseUrl {}", provider["baseUrl"].as_str().unwrap_or("")),
        )
    } else {
        Check::fail(
            "host provider",
            "baseUrl, api \"anthropic-messages\" or authHeader true is missing",
            REFIX_HOST,
        )
    }
}

/// A failure when the default model is this provider's but not among its
/// `listed` models; nothing to say otherwise.
fn host_default_model_check(config: &Value, listed: &[&str]) -> Option<Check> {
    let primary = config["agents"]["defaults"]["model"]["primary"].as_str()?;
    let id = primary.strip_prefix(&format!("{PROVIDER}/"))?;
    (!listed.contains(&id)).then(|| {
        Check::fail(
            "host default model",
            format!("{primary} is not in the provider's models"),
            REFIX_HOST,
        )
    })
}

/// The provider gets its token from this tool: an exec secret reference,
/// or an OAuth auth profile.
fn host_auth_profile_check(config: &Value, provider: &Value) -> Check {
    let has_profile = config["auth"]["profiles"]
        .as_object()
        .is_some_and(|profiles| {
            profiles
                .values()
                .any(|p| p["provider"] == PROVIDER && p["mode"] == "oauth")
        });
    let exec_ref = provider["apiKey"]["source"] == "exec";
    if exec_ref {
        Check::pass(
            "host auth profile",
            "the provider gets its token from this tool (exec secret provider)",
        )
    } else if has_profile {
        Check::pass(
            "host auth profile",
            "an OAuth profile for minimax-portal is configured",
        )
    } else {
        Check::fail(
            "host auth profile",
            "neither an exec secret reference nor an OAuth profile for minimax-portal",
            REFIX_HOST,
        )
    }
}

fn read_json(path: &Path) -> std::result::Result<Value, String> {
    use std::io::Read;
    // A FIFO or a device would hang or never end: regular files only.
    let file = crate::safe_fs::open_regular_following(path).map_err(|e| e.message)?;
    let mut bytes = Vec::new();
    file.take(MAX_HOST_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_HOST_CONFIG_BYTES {
        return Err(format!("{} is larger than 8 MiB", path.display()));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}
