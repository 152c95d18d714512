//! `doctor`: each check with pass/fail and the command that fixes it.

use super::print_json;
use crate::catalog;
use crate::cli::DoctorArgs;
use crate::error::Result;
use crate::fix;
use crate::portal::http::Http;
use crate::profile::{PROVIDER, now_ms};
use crate::region::{OAUTH_BASE_ENV, Region};
use crate::runtime::run_async;
use crate::safe_fs;
use crate::store::{StoreMode, Stores};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// Clocks further apart than this break token expiry maths.
const MAX_SKEW_MS: i64 = 60_000;
/// A host config larger than this is not read.
const MAX_HOST_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
struct Check {
    name: String,
    status: Status,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

pub fn run(stores: &Stores, json: bool, args: DoctorArgs) -> Result<i32> {
    let mut checks = vec![keyring_check(stores), state_folder_check(stores.home())];
    checks.extend(portal_checks()?);
    checks.extend(profile_checks(stores));
    if let Some(path) = &args.host_config {
        checks.extend(host_config_checks(path));
    }

    for check in &checks {
        let mark = match check.status {
            Status::Pass => "ok  ",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        say!("[{mark}] {}: {}", check.name, check.detail);
        if let Some(fix) = &check.fix {
            say!("       fix: {fix}");
        }
    }
    let failed = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail))
        .count();
    if failed == 0 {
        say!("All checks passed.");
    } else {
        say!("{failed} check(s) failed.");
    }
    if json {
        print_json(&serde_json::json!({"ok": failed == 0, "checks": checks}))?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

fn keyring_check(stores: &Stores) -> Check {
    let name = format!("keyring ({})", stores.keyring_backend());
    if stores.mode() == StoreMode::File {
        return Check::skip(name, "not used: the store is the file");
    }
    match stores.probe_keyring() {
        Ok(()) => Check::pass(name, "answered"),
        Err(why) => Check::fail(
            name,
            why,
            "start or unlock the keyring (Linux: gnome-keyring or KeePassXC's Secret Service), \
             or use --store file (plain text, 0600)",
        ),
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
    // The folders that hold secrets are also closed to readers.
    #[cfg(unix)]
    for dir in &folders[1..] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_or(0, |m| m.permissions().mode() & 0o777);
        if mode & 0o077 != 0 {
            return Check::fail(
                name,
                format!("{} is open to others (mode {mode:o})", dir.display()),
                format!(
                    "chmod 700 {}",
                    safe_fs::shell_quote(&dir.display().to_string())
                ),
            );
        }
    }
    #[cfg(unix)]
    for dir in &folders[1..] {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let quoted = safe_fs::shell_quote(&path.display().to_string());
            if !meta.is_file() {
                return Check::fail(
                    name,
                    format!("{} is not a regular file", path.display()),
                    format!("rm {quoted}"),
                );
            }
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Check::fail(
                    name,
                    format!("{} is open to others (mode {mode:o})", path.display()),
                    format!("chmod 600 {quoted}"),
                );
            }
            if entry.file_name().to_string_lossy().contains(".json.tmp-") {
                return Check::fail(
                    name,
                    format!("{} was left by an interrupted save", path.display()),
                    "minimax-portal-auth refresh --all".to_string(),
                );
            }
        }
    }
    Check::pass(name, format!("{} (yours, private)", home.display()))
}

/// Each region's OAuth host answers, and its clock agrees with ours.
fn portal_checks() -> Result<Vec<Check>> {
    let overridden = std::env::var(OAUTH_BASE_ENV).is_ok_and(|v| !v.trim().is_empty());
    let regions: &[Region] = if overridden {
        &[Region::Global]
    } else {
        &[Region::Global, Region::Cn]
    };
    let mut targets = Vec::new();
    for region in regions {
        let label = if overridden {
            format!("portal ({OAUTH_BASE_ENV})")
        } else {
            format!("portal {}", region.label())
        };
        targets.push((label, region.oauth_base()?));
    }
    run_async(async {
        let http = Http::new()?;
        let mut checks = Vec::new();
        let mut skew_checked = false;
        for (label, url) in targets {
            let started = std::time::Instant::now();
            match http.get(&url).await {
                Ok(answer) => {
                    checks.push(Check::pass(
                        label,
                        format!(
                            "{url} answered HTTP {} in {} ms",
                            answer.status,
                            started.elapsed().as_millis()
                        ),
                    ));
                    if !skew_checked && let Some(date) = answer.date {
                        skew_checked = true;
                        checks.push(skew_check(&date));
                    }
                }
                Err(failure) => {
                    let e = failure.into_error("check reachability");
                    checks.push(Check::fail(
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
    })?
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
            "sync the clock (e.g. timedatectl set-ntp true)",
        )
    }
}

fn profile_checks(stores: &Stores) -> Vec<Check> {
    let names = match stores.names() {
        Ok(names) => names,
        Err(e) => return vec![Check::fail("profiles", e.message, "see the message")],
    };
    let mut checks = Vec::new();
    for name in names {
        let label = format!("profile {}", name.profile_id());
        match stores.load(&name) {
            Ok(None) => {}
            Ok(Some(loaded)) if loaded.profile.needs_login => checks.push(Check::fail(
                label,
                format!(
                    "in the {}: the portal rejected its refresh token",
                    stores.describe(loaded.stored.store, &name)
                ),
                fix::login(&name, Some(loaded.profile.region)),
            )),
            Ok(Some(loaded)) => {
                let (profile, store) = (loaded.profile, loaded.stored.store);
                let left = profile.expires_in_ms(now_ms());
                let when = if left > 0 {
                    format!("access token valid for {} min", left / 60_000)
                } else {
                    "access token expired; refreshed on next use".to_string()
                };
                checks.push(Check::pass(
                    label,
                    format!(
                        "{}, in the {}; {when}",
                        profile.region.label(),
                        stores.describe(store, &name)
                    ),
                ));
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
    checks
}

/// The host's MiniMax page: "Unknown model: minimax-portal/..." means the
/// host config lacks the provider or its catalog.
fn host_config_checks(path: &Path) -> Vec<Check> {
    let name = "host config";
    let refix = "run the host's `onboard --auth-choice minimax-portal` again, or merge the \
                 config_patch printed by `minimax-portal-auth login --json`";
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
            refix,
        )];
    }
    let mut checks = Vec::new();
    let listed: Vec<&str> = provider["models"]
        .as_array()
        .map(|models| models.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    let missing: Vec<&str> = catalog
        .models
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| !listed.contains(id))
        .collect();
    if missing.is_empty() {
        checks.push(Check::pass(
            "host catalog",
            format!("all {} models listed", catalog.models.len()),
        ));
    } else {
        checks.push(Check::fail(
            "host catalog",
            format!(
                "missing {}: the host reports \"Unknown model\" for them",
                missing.join(", ")
            ),
            refix,
        ));
    }
    let settings_ok = provider["api"] == "anthropic-messages"
        && provider["authHeader"] == true
        && provider["baseUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
    if settings_ok {
        checks.push(Check::pass(
            "host provider",
            format!("baseUrl {}", provider["baseUrl"].as_str().unwrap_or("")),
        ));
    } else {
        checks.push(Check::fail(
            "host provider",
            "baseUrl, api \"anthropic-messages\" or authHeader true is missing",
            refix,
        ));
    }
    if let Some(primary) = config["agents"]["defaults"]["model"]["primary"].as_str()
        && let Some(id) = primary.strip_prefix(&format!("{PROVIDER}/"))
        && !listed.contains(&id)
    {
        checks.push(Check::fail(
            "host default model",
            format!("{primary} is not in the provider's models"),
            refix,
        ));
    }
    let has_profile = config["auth"]["profiles"]
        .as_object()
        .is_some_and(|profiles| {
            profiles
                .values()
                .any(|p| p["provider"] == PROVIDER && p["mode"] == "oauth")
        });
    if has_profile {
        checks.push(Check::pass(
            "host auth profile",
            "an OAuth profile for minimax-portal is configured",
        ));
    } else {
        checks.push(Check::fail(
            "host auth profile",
            "auth.profiles has no minimax-portal OAuth profile",
            refix,
        ));
    }
    checks
}

fn read_json(path: &Path) -> std::result::Result<Value, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_HOST_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_HOST_CONFIG_BYTES {
        return Err(format!("{} is larger than 8 MiB", path.display()));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}
