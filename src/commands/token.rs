use crate::cli::TokenArgs;
use crate::error::Result;
use crate::json::TokenOutput;
use crate::output::{print_json, print_stdout};
use crate::portal::refresh::HttpRefresher;
use crate::profile::ProfileName;
use crate::session::token_for_use;
use crate::store::Stores;

pub fn run(stores: &Stores, json: bool, name: &ProfileName, args: TokenArgs) -> Result<i32> {
    // Its caller is a program: no keyring announcement on its stderr.
    stores.quiet();
    let fresh = token_for_use(stores, &HttpRefresher, name, args.margin.duration())?;
    if json {
        print_json(&TokenOutput {
            profile_id: name.profile_id(),
            access_token: fresh.profile.access.secret().clone(),
            expires: fresh.profile.expires,
            base_url: fresh.profile.base_url,
            outcome: fresh.outcome.as_str().to_string(),
        })?;
    } else {
        print_stdout(&format!("{}\n", fresh.profile.access.secret()))?;
    }
    Ok(0)
}
