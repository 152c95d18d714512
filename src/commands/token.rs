use crate::cli::TokenArgs;
use crate::error::Result;
use crate::json::TokenOutput;
use crate::output::{print_json, print_stdout};
use crate::portal::refresh::HttpRefresher;
use crate::profile::ProfileName;
use crate::session::{Outcome, cached_token, token_for_use};
use crate::store::Stores;

pub fn run(stores: &Stores, json: bool, name: &ProfileName, args: TokenArgs) -> Result<i32> {
    // Its caller is a program: no keyring announcement on its stderr.
    super::warnings::quiet();
    let margin = args.margin.duration();
    // The kernel cache first (store/kcache.rs); any miss takes the store path.
    let out = match cached_token(stores, name, margin) {
        Some(hit) => TokenOutput {
            profile_id: name.profile_id(),
            access_token: hit.access.secret().clone(),
            expires: hit.expires,
            base_url: hit.base_url,
            outcome: Outcome::StillValid,
        },
        None => {
            let fresh = token_for_use(stores, &HttpRefresher, name, margin)?;
            TokenOutput {
                profile_id: name.profile_id(),
                access_token: fresh.profile.access.secret().clone(),
                expires: fresh.profile.expires,
                base_url: fresh.profile.base_url.to_string(),
                outcome: fresh.outcome,
            }
        }
    };
    if json {
        print_json(&out)?;
    } else {
        print_stdout(&format!("{}\n", out.access_token))?;
    }
    Ok(0)
}
