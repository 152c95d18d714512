use super::print_json;
use crate::api_key::{self, ApiKeyProfile};
use crate::cli::{Flow, LoginArgs};
use crate::error::{Class, Error, Result};
use crate::host;
use crate::portal::http::Http;
use crate::portal::wire::Tokens;
use crate::portal::{browser, device};
use crate::profile::{PROVIDER, Profile, ProfileName, SCHEMA, now_ms};
use crate::region::{CLIENT_ID, Region};
use crate::session::run_async;
use crate::store::keyring::KeyringStore;
use crate::store::{StoreKind, Stores};
use crate::ui;
use indicatif::ProgressBar;
use std::time::Duration;

pub fn run(stores: &Stores, json: bool, args: LoginArgs) -> Result<i32> {
    let name = args.profile.profile;
    let region = pick_region(args.region)?;
    let catalog = host::catalog()?;
    if args.with_api_key {
        return api_key_login(stores, json, &name, region, &catalog);
    }
    // Find out now, not after the user approved, whether the store works.
    match stores.load(&name) {
        Ok(_) => {}
        Err(e) if e.class == Class::NeedsLogin => {} // a damaged profile is about to be replaced
        Err(e) => return Err(e),
    }

    let tokens = run_async(async {
        tokio::select! {
            result = sign_in(region, args.flow, args.no_browser) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::cancelled()),
        }
    })??;

    let base_url = match &tokens.resource_url {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => region.default_model_base_url()?,
    };
    let now = now_ms();
    let profile = Profile {
        schema: SCHEMA,
        kind: "oauth".to_string(),
        provider: PROVIDER.to_string(),
        profile_id: name.profile_id(),
        region,
        access: tokens.access,
        refresh: tokens
            .refresh
            .ok_or_else(|| Error::failed("the portal sent no refresh token"))?,
        expires: tokens.expires_ms,
        token_endpoint: region.token_url()?.to_string(),
        client_id: CLIENT_ID.to_string(),
        base_url: base_url.clone(),
        updated_at: now,
        needs_login: false,
    };
    let store = {
        let _guard = stores.lock(&name)?;
        stores.save(&name, &profile, None)?
    };

    if let Some(message) = &tokens.notification {
        eprintln!("MiniMax says: {message}");
    }
    let where_saved = match store {
        StoreKind::Keyring => format!("the {}", KeyringStore::backend_name()),
        StoreKind::File => format!("the plain-text file {}", stores.file_path(&name).display()),
    };
    eprintln!(
        "Signed in to MiniMax ({}). Profile {} saved in {where_saved}; the access token is valid until {}.",
        region.label(),
        name.profile_id(),
        ui::local_time(profile.expires)
    );
    if json {
        print_json(&serde_json::json!({
            "profile_id": name.profile_id(),
            "provider": PROVIDER,
            "region": region,
            "expires": profile.expires,
            "store": store,
            "base_url": base_url,
            "default_model": host::model_ref(PROVIDER, &catalog.default),
            "config_patch": host::oauth_patch(&catalog, &name, &base_url),
            "notification_message": tokens.notification,
        }));
    }
    Ok(0)
}

fn pick_region(flag: Option<Region>) -> Result<Region> {
    match flag {
        Some(region) => Ok(region),
        None if ui::is_interactive() => ui::choose_region(),
        None => Err(
            Error::usage("no --region given, and no terminal to ask on").with_hint(
                "pass --region global (api.minimax.io, international users) or --region cn \
             (api.minimaxi.com, users in China)",
            ),
        ),
    }
}

/// `login --with-api-key`: the key from stdin into the same store, and the
/// config patch of provider `minimax`.
fn api_key_login(
    stores: &Stores,
    json: bool,
    name: &ProfileName,
    region: Region,
    catalog: &host::Catalog,
) -> Result<i32> {
    let key = api_key::read_key(ui::is_interactive())?;
    let base_url = region.default_model_base_url()?;
    let profile_id = format!("{}:{name}", api_key::PROVIDER);
    let profile = ApiKeyProfile {
        schema: SCHEMA,
        kind: "api_key".to_string(),
        provider: api_key::PROVIDER.to_string(),
        profile_id: profile_id.clone(),
        region,
        key,
        base_url: base_url.clone(),
        updated_at: now_ms(),
    };
    let bytes = serde_json::to_vec(&profile)
        .map_err(|e| Error::failed(format!("cannot encode the profile: {e}")))?;
    let key_stores = Stores::open_api_keys(stores.mode(), stores.home());
    let store = {
        let _guard = key_stores.lock(name)?;
        key_stores.write(name, &bytes, None)?
    };
    eprintln!(
        "Saved the MiniMax API key as {profile_id} ({}) in the {} store.",
        region.label(),
        store.as_str()
    );
    if json {
        print_json(&serde_json::json!({
            "profile_id": profile_id,
            "provider": api_key::PROVIDER,
            "region": region,
            "store": store,
            "base_url": base_url,
            "default_model": host::model_ref(api_key::PROVIDER, &catalog.default),
            "config_patch": host::config_patch(catalog, api_key::PROVIDER, &profile_id, "api_key", &base_url),
        }));
    }
    Ok(0)
}

/// Opens the link unless told not to, or unless no local browser is likely.
fn offer_browser(link: &str, no_browser: bool, where_to_open: &str) {
    if no_browser {
        eprintln!("Open the link in a browser {where_to_open}.");
    } else if let Some(why) = ui::remote_session() {
        eprintln!("Not opening a browser here ({why}): open the link {where_to_open}.");
    } else if let Err(why) = ui::open_browser(link) {
        eprintln!("Could not open a browser ({why}): open the link yourself.");
    } else {
        eprintln!("Opened your browser. If nothing appeared, open the link yourself.");
    }
}

/// `--flow browser`: the authorization-code flow with a loopback redirect.
async fn sign_in_with_redirect(http: &Http, region: Region, no_browser: bool) -> Result<Tokens> {
    let started = browser::start(region).await?;
    eprintln!(
        "\nTo sign in to MiniMax ({}), open this link in a browser on this machine:\n\n  {}\n",
        region.label(),
        started.authorize_url
    );
    if let Some(why) = ui::remote_session() {
        eprintln!(
            "Note: {why}, but the browser must reach {} on this machine; if it cannot, use --flow device.",
            started.redirect_uri
        );
    }
    offer_browser(
        started.authorize_url.as_str(),
        no_browser,
        "on this machine",
    );
    let spinner = Spinner(ui::spinner(format!(
        "Waiting for the browser to return to {} (Ctrl-C to cancel)",
        started.redirect_uri
    )));
    let result = browser::finish(http, region, started).await;
    drop(spinner);
    result
}

/// Clears the spinner however the wait ends (approval, error, Ctrl-C).
struct Spinner(ProgressBar);

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

async fn sign_in(region: Region, flow: Flow, no_browser: bool) -> Result<Tokens> {
    let http = Http::new()?;
    if flow == Flow::Browser {
        return sign_in_with_redirect(&http, region, no_browser).await;
    }
    let started = device::start(&http, region).await?;
    let link = started.code.verification_uri.as_str();
    eprintln!(
        "\nTo sign in to MiniMax ({}), open this link and confirm the code:\n\n  {link}\n\n  Code: {}\n",
        region.label(),
        started.code.user_code
    );
    offer_browser(link, no_browser, "on any device");

    let deadline = started.code.deadline_ms;
    let waiting = |left: i64| {
        format!(
            "Waiting for approval ({} left, Ctrl-C to cancel)",
            ui::clock(left)
        )
    };
    let spinner = Spinner(ui::spinner(waiting(deadline - now_ms())));
    let wait = device::wait_for_approval(&http, region, &started);
    tokio::pin!(wait);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            result = &mut wait => {
                drop(spinner);
                return result;
            }
            _ = tick.tick() => spinner.0.set_message(waiting(deadline - now_ms())),
        }
    }
}
