use super::print_json;
use crate::api_key::ApiKeyProfile;
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::fix;
use crate::profile::{ProfileName, now_ms};
use crate::store::Stores;
use crate::ui::local_time;
use serde_json::{Value, json};

pub fn run(stores: &Stores, json: bool, args: StatusArgs) -> Result<i32> {
    stores.sweep_all();
    let margin_ms = i64::try_from(args.margin.duration().as_millis()).unwrap_or(i64::MAX);
    let (names, explicit) = match args.profile {
        Some(name) => (vec![name], true),
        None => (stores.names()?, false),
    };
    let now = now_ms();
    let mut rows: Vec<Value> = Vec::new();
    let mut all_usable = true;
    for name in names {
        let row = match stores.load(&name) {
            Ok(None) if !explicit => continue,
            Ok(None) => {
                all_usable = false;
                say!(
                    "{}  not stored\n    fix: {}",
                    name.profile_id(),
                    fix::login(&name, None)
                );
                empty_row(&name, "missing", None, Some(fix::login(&name, None)))
            }
            Ok(Some(loaded)) => {
                let (profile, store) = (loaded.profile, loaded.stored.store);
                let left = profile.expires_in_ms(now);
                let state = if profile.needs_login {
                    "needs_login"
                } else if left <= 0 {
                    "expired"
                } else if left < margin_ms {
                    "expiring"
                } else {
                    "valid"
                };
                let usable = !profile.needs_login;
                all_usable &= usable;
                let fix = (!usable).then(|| fix::login(&name, Some(profile.region)));
                say!(
                    "{}  {}  region {}  {}  in the {}",
                    name.profile_id(),
                    describe(state, left),
                    profile.region.label(),
                    if left > 0 {
                        format!("expires {}", local_time(profile.expires))
                    } else {
                        format!("expired {}", local_time(profile.expires))
                    },
                    stores.describe(store, &name)
                );
                if let Some(fix) = &fix {
                    say!("    fix: {fix}");
                }
                json!({
                    "profile_id": name.profile_id(),
                    "name": name.as_str(),
                    "provider": profile.provider,
                    "region": profile.region,
                    "expires": profile.expires,
                    "expires_in_seconds": left / 1000,
                    "state": state,
                    "usable": usable,
                    "store": store,
                    "base_url": profile.base_url,
                    "message": null,
                    "fix": fix,
                })
            }
            Err(e) => {
                all_usable = false;
                say!("{}  unusable: {}", name.profile_id(), e.message);
                empty_row(&name, "unreadable", Some(e.message), e.fix)
            }
        };
        rows.push(row);
    }
    let api_keys = if explicit {
        Vec::new()
    } else {
        api_key_rows(stores)
    };
    if rows.is_empty() && api_keys.is_empty() {
        all_usable = false;
        say!("Not signed in to MiniMax: no profile is stored.\n  fix: minimax-portal-auth login");
    }
    if json {
        print_json(&json!({
            "profiles": rows,
            "api_keys": api_keys,
            "store_mode": stores.mode().as_str(),
            "keyring_backend": stores.keyring_backend(),
            "state_home": stores.home(),
            "warnings": stores.warnings(),
        }))?;
    }
    Ok(if all_usable { 0 } else { 1 })
}

/// API-key profiles (`login --with-api-key`): listed, never printed.
fn api_key_rows(stores: &Stores) -> Vec<Value> {
    let Ok(key_stores) = Stores::open_api_keys(stores.mode(), stores.home()) else {
        return Vec::new();
    };
    let Ok(names) = key_stores.names() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for name in names {
        let Ok(Some(stored)) = key_stores.read(&name) else {
            continue;
        };
        let store = stored.store;
        let region = serde_json::from_slice::<ApiKeyProfile>(&stored.bytes)
            .ok()
            .map(|p| p.region);
        let profile_id = format!("{}:{name}", crate::api_key::PROVIDER);
        say!(
            "{profile_id}  API key  region {}  in the {}",
            region.map_or("?", |r| r.label()),
            store.as_str()
        );
        rows.push(json!({"profile_id": profile_id, "region": region, "store": store}));
    }
    rows
}

/// A row for a profile that could not be read, with the same keys as any.
fn empty_row(
    name: &ProfileName,
    state: &str,
    message: Option<String>,
    fix: Option<String>,
) -> Value {
    json!({
        "profile_id": name.profile_id(),
        "name": name.as_str(),
        "provider": crate::profile::PROVIDER,
        "region": null,
        "expires": null,
        "expires_in_seconds": null,
        "state": state,
        "usable": false,
        "store": null,
        "base_url": null,
        "message": message,
        "fix": fix,
    })
}

fn describe(state: &str, left_ms: i64) -> String {
    match state {
        "valid" => format!("valid ({} left)", crate::ui::duration(left_ms)),
        "expiring" => format!(
            "expiring ({} left; refreshed on next use)",
            crate::ui::duration(left_ms)
        ),
        "expired" => "access token expired (refreshed on next use)".to_string(),
        _ => "NEEDS LOGIN (refresh token rejected)".to_string(),
    }
}
