use crate::cli::TokenArgs;
use crate::error::Result;
use crate::session::token_for_use;
use crate::store::Stores;
use std::io::Write;

pub fn run(stores: &Stores, json: bool, args: TokenArgs) -> Result<i32> {
    let name = args.profile.profile;
    let fresh = token_for_use(stores, &name, args.margin.duration())?;
    if json {
        super::print_json(&serde_json::json!({
            "profile_id": name.profile_id(),
            "access_token": fresh.profile.access.secret(),
            "expires": fresh.profile.expires,
            "base_url": fresh.profile.base_url,
            "outcome": fresh.outcome.as_str(),
        }));
    } else {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", fresh.profile.access.secret());
        let _ = out.flush();
    }
    Ok(0)
}
