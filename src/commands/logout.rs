use super::print_json;
use crate::api_key;
use crate::cli::LogoutArgs;
use crate::error::Result;
use crate::store::{StoreKind, Stores};

pub fn run(stores: &Stores, json: bool, args: LogoutArgs) -> Result<i32> {
    let name = args.profile.profile;
    let (profile_id, removed) = if args.api_key {
        let key_stores = Stores::open_api_keys(stores.mode(), stores.home());
        let _guard = key_stores.lock(&name)?;
        (
            format!("{}:{name}", api_key::PROVIDER),
            key_stores.delete(&name)?,
        )
    } else {
        // Not while another process refreshes it: that one would write it back.
        let _guard = stores.lock(&name)?;
        (name.profile_id(), stores.delete(&name)?)
    };
    if removed.is_empty() {
        eprintln!("No profile {profile_id} was stored; nothing to remove.");
    } else {
        let places: Vec<&str> = removed.iter().map(|k| StoreKind::as_str(*k)).collect();
        eprintln!(
            "Removed {profile_id} from the {} store.",
            places.join(" and ")
        );
    }
    if json {
        print_json(&serde_json::json!({
            "profile_id": profile_id,
            "removed": !removed.is_empty(),
            "stores": removed,
        }));
    }
    Ok(0)
}
