use super::print_json;
use crate::cli::ProfileArgs;
use crate::error::Result;
use crate::lock;
use crate::store::{StoreKind, Stores};

pub fn run(stores: &Stores, json: bool, args: ProfileArgs) -> Result<i32> {
    let name = args.profile;
    // Not while another process refreshes it: that one would write it back.
    let _guard = lock::acquire(stores.home(), &format!("profile-{name}"))?;
    let removed = stores.delete(&name)?;
    if removed.is_empty() {
        eprintln!(
            "No profile {} was stored; nothing to remove.",
            name.profile_id()
        );
    } else {
        let places: Vec<&str> = removed.iter().map(|k| StoreKind::as_str(*k)).collect();
        eprintln!(
            "Removed {} from the {} store.",
            name.profile_id(),
            places.join(" and ")
        );
    }
    if json {
        print_json(&serde_json::json!({
            "profile_id": name.profile_id(),
            "removed": !removed.is_empty(),
            "stores": removed,
        }));
    }
    Ok(0)
}
