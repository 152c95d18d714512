use super::{login_browser, print_json};
use crate::api_key::{self, ApiKeyProfile};
use crate::catalog;
use crate::cli::{Flow, LoginArgs};
use crate::error::{Class, Error, Result};
use crate::portal::answer::Tokens;
use crate::portal::http::Http;
use crate::portal::{device, wire};
use crate::profile::{PROVIDER, Profile, ProfileName, SCHEMA, now_ms};
use crate::region::Region;
use crate::runtime::run_async;
use crate::store::{Saved, Stored, Stores};
use crate::ui;
use indicatif::ProgressBar;
use std::time::Duration;

pub fn run(stores: &Stores, json: bool, args: LoginArgs) -> Result<i32> {
    let name = args.profile.profile;
    let region = pick_region(args.region)?;
    let catalog = catalog::load()?;
    if args.with_api_key {
        return api_key_login(stores, json, &name, region, &catalog);
    }
    if let Some(port) = args.port
        && args.flow != Flow::Browser
    {
        return Err(
            Error::usage("--port is for --flow browser only").with_fix(format!(
                "{} --flow browser --port {port}",
                crate::fix::login(&name, Some(region))
            )),
        );
    }
    // Find out now, not after the user approved, whether the store works.
    let existing = existing_copy(stores, &name)?;
    drop(stores.prepare_save(&name, existing.as_ref())?);

    let save = |tokens| save_login(stores, &name, region, tokens);
    let (profile, saved, notification) = if args.flow == Flow::Browser {
        // The browser flow saves before it answers the browser.
        let options = login_browser::Options {
            region,
            name: &name,
            no_browser: args.no_browser,
            port: args.port,
        };
        login_browser::sign_in(&options, save)?
    } else {
        let tokens = run_async(async {
            tokio::select! {
                result = sign_in(region, args.no_browser) => result,
                _ = tokio::signal::ctrl_c() => Err(Error::cancelled()),
            }
        })??;
        save(tokens)?
    };
    let base_url = profile.base_url.clone();
    if let Some(message) = &notification {
        say!("MiniMax says: {message}");
    }
    say!(
        "Signed in to MiniMax ({}). Saved {} in the {}; it refreshes automatically.",
        region.label(),
        name.profile_id(),
        stores.describe(saved.store, &name)
    );
    if json {
        print_json(&serde_json::json!({
            "profile_id": name.profile_id(),
            "provider": PROVIDER,
            "region": region,
            "expires": profile.expires,
            "store": saved.store,
            "base_url": base_url,
            "default_model": catalog::model_ref(PROVIDER, &catalog.default),
            "config_patch": catalog::oauth_patch(&catalog, &name, &base_url),
            "notification_message": notification,
        }))?;
    }
    Ok(0)
}

/// Keeps a login's tokens as the profile, under the profile's lock.
fn save_login(
    stores: &Stores,
    name: &ProfileName,
    region: Region,
    tokens: Tokens,
) -> Result<(Profile, Saved, Option<String>)> {
    let notification = tokens.notification.clone();
    let now = now_ms();
    let (profile, warnings) = Profile::signed_in(name, region, tokens, now)?;
    for warning in &warnings {
        say!("warning: {warning}");
    }
    let held = stores.lock(name)?;
    stores.sweep(name, &held, false);
    let existing = match stores.read_locked(name, &held) {
        Ok(found) => found,
        Err(e) if e.class == Class::NeedsLogin => None,
        Err(e) => return Err(e),
    };
    let saved = stores.save(name, existing.as_ref(), &profile.to_json()?, now)?;
    if let Some(warning) = &saved.warning {
        say!("warning: {warning}");
    }
    Ok((profile, saved, notification))
}

/// The stored copy a login replaces; a damaged one is about to be replaced
/// anyway, so it does not stop the login.
fn existing_copy(stores: &Stores, name: &ProfileName) -> Result<Option<Stored>> {
    match stores.read(name) {
        Ok(found) => Ok(found),
        Err(e) if e.class == Class::NeedsLogin => Ok(None),
        Err(e) => Err(e),
    }
}

fn pick_region(flag: Option<Region>) -> Result<Region> {
    match flag {
        Some(region) => Ok(region),
        None if ui::is_interactive() => ui::choose_region(Region::Global),
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
    catalog: &catalog::Catalog,
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
    let key_stores = Stores::open_api_keys(stores.mode(), stores.home())?;
    let saved = {
        let held = key_stores.lock(name)?;
        let existing = key_stores.read_locked(name, &held)?;
        key_stores.save(name, existing.as_ref(), &bytes, profile.updated_at)?
    };
    let store = saved.store;
    if let Some(warning) = &saved.warning {
        say!("warning: {warning}");
    }
    say!(
        "Saved the MiniMax API key as {profile_id} ({}) in the {}.",
        region.label(),
        key_stores.describe(store, name)
    );
    if json {
        print_json(&serde_json::json!({
            "profile_id": profile_id,
            "provider": api_key::PROVIDER,
            "region": region,
            "store": store,
            "base_url": base_url,
            "default_model": catalog::model_ref(api_key::PROVIDER, &catalog.default),
            "config_patch": catalog::config_patch(catalog, api_key::PROVIDER, &profile_id, "api_key", &base_url),
        }))?;
    }
    Ok(0)
}

/// Opens the link unless told not to, or unless no local browser is likely.
fn offer_browser(link: &str, no_browser: bool, where_to_open: &str) {
    if no_browser {
        say!("Open the link in a browser {where_to_open}.");
    } else if let Some(why) = ui::remote_session() {
        say!("Not opening a browser here ({why}): open the link {where_to_open}.");
    } else if let Err(why) = ui::open_browser(link) {
        say!("Could not open a browser ({why}): open the link yourself.");
    } else {
        say!("Opened your browser. If nothing appeared, open the link yourself.");
    }
}

/// Clears the spinner however the wait ends (approval, error, Ctrl-C).
struct Spinner(ProgressBar);

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

async fn sign_in(region: Region, no_browser: bool) -> Result<Tokens> {
    let http = Http::new()?;
    let started = device::start(&http, region).await?;
    let link = started.code.verification_uri.as_str();
    say!(
        "\nTo sign in to MiniMax ({}), open this link and confirm the code:\n\n  {link}\n\n  Code: {}\n",
        region.label(),
        started.code.user_code
    );
    offer_browser(link, no_browser, "on any device");

    let deadline = started.code.deadline_ms;
    let trouble = std::cell::RefCell::new(None::<String>);
    let waiting = |left: i64| {
        let note = trouble
            .borrow()
            .as_ref()
            .map(|t| format!("; {t}, retrying"))
            .unwrap_or_default();
        format!(
            "Waiting for approval (expires in {}{note}; Ctrl-C to cancel)",
            ui::duration(left)
        )
    };
    let spinner = Spinner(ui::spinner(waiting(deadline.saturating_sub(now_ms()))));
    let mut on_trouble = |why: &str| *trouble.borrow_mut() = Some(wire::clean(why, 60));
    let wait = device::wait_for_approval(&http, region, &started, &mut on_trouble);
    tokio::pin!(wait);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            result = &mut wait => {
                drop(spinner);
                return result;
            }
            _ = tick.tick() => spinner.0.set_message(waiting(deadline.saturating_sub(now_ms()))),
        }
    }
}
