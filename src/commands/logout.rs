use super::print_json;
use crate::cli::LogoutArgs;
use crate::error::Result;
use crate::output::print_stdout;
use crate::profile::ProfileName;
use crate::store::{StoreKind, Stores};
use serde_json::{Value, json};

pub fn run(stores: &Stores, json: bool, name: &ProfileName, args: LogoutArgs) -> Result<i32> {
    stores.sweep_all();
    let key_stores = Stores::open_api_keys(stores.mode(), stores.home())?;
    let mut removed: Vec<(String, Vec<StoreKind>)> = Vec::new();
    if args.all {
        for name in stores.names()? {
            removed.push((name.profile_id(), remove(stores, &name)?));
        }
        for name in key_stores.names()? {
            removed.push((name.api_key_id(), remove(&key_stores, &name)?));
        }
        removed.retain(|(_, places)| !places.is_empty());
    } else if args.api_key {
        removed.push((name.api_key_id(), remove(&key_stores, name)?));
    } else {
        removed.push((name.profile_id(), remove(stores, name)?));
    }

    let mut text = String::new();
    for (id, places) in &removed {
        if places.is_empty() {
            text.push_str(&format!("No profile {id} was stored; nothing to remove.\n"));
        } else {
            let places: Vec<&str> = places.iter().map(|k| k.as_str()).collect();
            text.push_str(&format!("✓ Removed {id} ({}).\n", places.join(", ")));
        }
    }
    if args.all && removed.is_empty() {
        text.push_str("No profile was stored; nothing to remove.\n");
    }
    if json {
        let rows: Vec<Value> = removed
            .iter()
            .map(|(id, places)| json!({"profile_id": id, "removed": !places.is_empty(), "stores": places}))
            .collect();
        if args.all {
            print_json(&json!({"profiles": rows}))?;
        } else {
            print_json(&rows[0])?;
        }
    } else {
        print_stdout(&text)?;
    }
    Ok(0)
}

/// Removes one profile, under its lock: a refresh in another process would
/// write it back.
fn remove(stores: &Stores, name: &ProfileName) -> Result<Vec<StoreKind>> {
    let held = stores.lock(name)?;
    stores.delete(name, &held)
}
