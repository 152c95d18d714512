use super::print_json;
use crate::cli::LogoutArgs;
use crate::error::Result;
use crate::json::{LogoutAllOutput, LogoutRow};
use crate::output::print_stdout;
use crate::profile::ProfileName;
use crate::store::Stores;

pub fn run(stores: &Stores, json: bool, name: &ProfileName, args: LogoutArgs) -> Result<i32> {
    stores.sweep_all();
    let key_stores = Stores::open_api_keys(stores.mode(), stores.home())?;
    let mut removed: Vec<LogoutRow> = Vec::new();
    if args.all {
        for name in stores.names()? {
            removed.push(remove(stores, &name)?);
        }
        for name in key_stores.names()? {
            removed.push(remove(&key_stores, &name)?);
        }
        removed.retain(|row| row.removed);
    } else if args.api_key {
        removed.push(remove(&key_stores, name)?);
    } else {
        removed.push(remove(stores, name)?);
    }

    // Only profiles `openclaw setup` connected (not the plugin's fallback).
    let served: Vec<ProfileName> = super::config::load(stores.home())
        .openclaw_profiles
        .iter()
        .filter_map(|n| ProfileName::parse(n).ok())
        .collect();
    for served in served.iter().filter(|n| {
        removed
            .iter()
            .any(|r| r.removed && r.profile_id == stores.id_of(n))
    }) {
        say!(
            "note: OpenClaw's plugin hands out {id}: OpenClaw's next turn will ask you to sign \
             in.\n  Sign in again: minimax-portal-auth login{flag} (or, in OpenClaw: openclaw \
             onboard --auth-choice minimax-portal)\n  Or take it out of OpenClaw: \
             minimax-portal-auth openclaw setup --remove{flag}",
            id = stores.id_of(served),
            flag = crate::fix::profile_flag(served),
        );
    }
    if !json {
        print_stdout(&said(&removed, args.all))?;
    } else if args.all {
        print_json(&LogoutAllOutput { profiles: removed })?;
    } else {
        print_json(&removed.remove(0))?;
    }
    Ok(0)
}

/// What logout says it did, a line per profile.
fn said(removed: &[LogoutRow], all: bool) -> String {
    let mut text = String::new();
    for row in removed {
        let id = &row.profile_id;
        if row.removed {
            let places: Vec<&str> = row.stores.iter().map(|k| k.as_str()).collect();
            text.push_str(&format!("✓ Removed {id} ({}).\n", places.join(", ")));
        } else {
            text.push_str(&format!("No profile {id} was stored; nothing to remove.\n"));
        }
    }
    if all && removed.is_empty() {
        text.push_str("No profile was stored; nothing to remove.\n");
    }
    text
}

/// Removes one profile, under its lock: a refresh in another process would
/// write it back.
fn remove(stores: &Stores, name: &ProfileName) -> Result<LogoutRow> {
    let places = stores.lock(name)?.delete()?;
    Ok(LogoutRow {
        profile_id: stores.id_of(name),
        removed: !places.is_empty(),
        stores: places,
    })
}
