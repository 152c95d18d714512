use super::print_json;
use crate::api_key;
use crate::cli::LogoutArgs;
use crate::error::Result;
use crate::store::Stores;

pub fn run(stores: &Stores, json: bool, args: LogoutArgs) -> Result<i32> {
    let name = args.profile.profile;
    let key_stores;
    let (profile_id, stores) = if args.api_key {
        key_stores = Stores::open_api_keys(stores.mode(), stores.home())?;
        (format!("{}:{name}", api_key::PROVIDER), &key_stores)
    } else {
        (name.profile_id(), stores)
    };
    // Not while another process refreshes it: that one would write it back.
    let held = stores.lock(&name)?;
    let removed = stores.delete(&name, &held)?;
    if removed.is_empty() {
        say!("No profile {profile_id} was stored; nothing to remove.");
    } else {
        let places: Vec<String> = removed.iter().map(|k| stores.describe(*k, &name)).collect();
        say!(
            "Removed {profile_id} from the {}.",
            places.join(" and the ")
        );
    }
    if json {
        print_json(&serde_json::json!({
            "profile_id": profile_id,
            "removed": !removed.is_empty(),
            "stores": removed,
        }))?;
    }
    Ok(0)
}
