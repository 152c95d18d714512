//! `switch NAME`: the profile commands use without -p.

use crate::cli::SwitchArgs;
use crate::error::Result;
use crate::json::SwitchOutput;
use crate::output::{print_json, print_stdout};
use crate::settings::PROFILE_ENV;
use crate::store::Stores;

pub fn run(stores: &Stores, json: bool, args: SwitchArgs) -> Result<i32> {
    let name = args.name;
    if stores.read(&name)?.is_none() {
        return Err(crate::session::no_profile(stores, &name));
    }
    let mut settings = super::config::load(stores.home());
    settings.profile = Some(name.as_str().to_string());
    settings.save(stores.home())?;
    let overridden = std::env::var(PROFILE_ENV).is_ok_and(|v| !v.trim().is_empty());
    if overridden {
        say!("note: {PROFILE_ENV} is set and wins over this choice while it is");
    }
    if json {
        print_json(&SwitchOutput {
            default_profile: name.as_str().to_string(),
        })?;
    } else {
        print_stdout(&format!(
            "✓ {} is now the default profile.\n",
            name.profile_id()
        ))?;
    }
    Ok(0)
}
