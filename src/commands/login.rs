//! `login`: pick the region, sign in, save the profile, say what is next.

use super::{login_browser, print_json};
use crate::api_key::{self, ApiKeyProfile};
use crate::catalog;
use crate::cli::{Flow, LoginArgs};
use crate::clock::now_ms;
use crate::error::{Class, Error, Result};
use crate::fix;
use crate::json::{ApiKeyLoginOutput, LoginOutput};
use crate::portal::device::{self, Approval};
use crate::portal::wire;
use crate::profile::{LoginTokens, PROVIDER, Profile, ProfileName, SCHEMA};
use crate::region::Region;
use crate::store::{Saved, Stored, Stores};
use crate::ui;

pub fn run(stores: &Stores, json: bool, name: &ProfileName, args: LoginArgs) -> Result<i32> {
    let interactive = ui::is_interactive();
    let existing = existing_profile(stores, name)?;
    super::warnings::tell(stores);
    let region = pick_region(stores, &args, existing.as_ref(), interactive)?;
    let catalog = catalog::load()?;
    if args.with_api_key {
        return api_key_login(stores, json, name, region, &catalog);
    }
    if let Some(current) = &existing
        && !confirm_replace(name, current, region, args.yes || !interactive)?
    {
        // A "no" is an answer, not a Ctrl-C: exit 1, as a failed login.
        say!("Kept the stored profile; nothing changed.");
        return Ok(1);
    }
    if let Some(port) = args.port
        && args.flow != Flow::Browser
    {
        return Err(
            Error::usage("--port is for --flow browser only").with_fix(format!(
                "{} --flow browser --port {port}",
                fix::login(name, Some(region))
            )),
        );
    }
    // Find out now, not after the user approved, whether the store works.
    let existing_copy = existing_copy(stores, name)?;
    drop(stores.lock(name)?.prepare_save(existing_copy.as_ref())?);
    super::warnings::tell(stores);

    let signed_in = sign_in_and_save(stores, name, region, &args, interactive)?;
    report_login(stores, json, name, &catalog, signed_in)?;
    Ok(0)
}

/// A login's outcome: the profile as saved, where, and what MiniMax asked
/// to be shown.
struct SignedIn {
    profile: Profile,
    saved: Saved,
    notification: Option<String>,
}

/// Signs in by the flow `args` names and saves the tokens; a failure's fix
/// is the same login command.
fn sign_in_and_save(
    stores: &Stores,
    name: &ProfileName,
    region: Region,
    args: &LoginArgs,
    interactive: bool,
) -> Result<SignedIn> {
    let save = |tokens| save_login(stores, name, region, tokens);
    let signed_in = if args.flow == Flow::Browser {
        // The browser flow saves before it answers the browser.
        let options = login_browser::Options {
            region,
            name,
            no_browser: args.no_browser,
            port: args.port,
        };
        login_browser::sign_in(&options, save)
    } else {
        let options = SignIn {
            region,
            no_browser: args.no_browser,
            qr: args.qr || ui::remote_session().is_some(),
            interactive,
            name: name.clone(),
        };
        sign_in(&options).and_then(save)
    };
    signed_in.map_err(|e| match e.class {
        // The fix of a failed sign-in is the same command, exactly.
        Class::Failed | Class::Transient if e.fix.is_none() => {
            e.with_fix(fix::login(name, Some(region)))
        }
        _ => e,
    })
}

/// Says what MiniMax said, that the login worked and what is next; with
/// --json, the profile and the host's config patch on stdout.
fn report_login(
    stores: &Stores,
    json: bool,
    name: &ProfileName,
    catalog: &catalog::Catalog,
    signed_in: SignedIn,
) -> Result<()> {
    let SignedIn {
        profile,
        saved,
        notification,
    } = signed_in;
    super::warnings::tell(stores);
    let region = profile.region;
    if let Some(message) = &notification {
        ui::tell(&format!("MiniMax says: {message}"));
    }
    // Every next command names the profile, so following them uses this one.
    let p = fix::profile_flag(name);
    ui::tell(&format!(
        "✓ Signed in to MiniMax {} as {}; it refreshes automatically.\n  \
         Saved in the {}.\n  \
         Next: minimax-portal-auth status{p}\n        \
         minimax-portal-auth openclaw setup{p} --set-default\n        \
         minimax-portal-auth exec{p} -- <an Anthropic-compatible tool>",
        region.label(),
        name.profile_id(),
        stores.describe(saved.store, name)
    ));
    if json {
        print_json(&LoginOutput {
            profile_id: name.profile_id(),
            provider: PROVIDER.to_string(),
            region,
            expires: profile.expires,
            store: saved.store,
            default_model: catalog::model_ref(PROVIDER, &catalog.default),
            config_patch: catalog::oauth_patch(catalog, name, profile.base_url.as_str()),
            base_url: profile.base_url.to_string(),
            notification_message: notification,
        })?;
    }
    Ok(())
}

/// Keeps a login's tokens as the profile, under the profile's lock.
fn save_login(
    stores: &Stores,
    name: &ProfileName,
    region: Region,
    tokens: LoginTokens,
) -> Result<SignedIn> {
    let notification = tokens.notification().map(str::to_string);
    let now = now_ms();
    let (profile, warnings) = Profile::signed_in(name, region, tokens, now)?;
    for warning in &warnings {
        say!("warning: {warning}");
    }
    let saved = crate::session::save_login(stores, name, &profile)?;
    super::warnings::tell(stores);
    Ok(SignedIn {
        profile,
        saved,
        notification,
    })
}

/// The profile a login would replace, if it can be read.
fn existing_profile(stores: &Stores, name: &ProfileName) -> Result<Option<Profile>> {
    match stores.load(name) {
        Ok(found) => Ok(found.map(|loaded| loaded.profile)),
        Err(e) if e.class == Class::NeedsLogin => Ok(None),
        Err(e) => Err(e),
    }
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

/// --region (or MINIMAX_PORTAL_REGION); else on a terminal the prompt,
/// starting on the profile's region or the settings' one; else the
/// settings' region; else a usage error naming --region.
fn pick_region(
    stores: &Stores,
    args: &LoginArgs,
    existing: Option<&Profile>,
    interactive: bool,
) -> Result<Region> {
    if let Some(region) = args.region {
        return Ok(region);
    }
    if let Some(region) = crate::env::choice(crate::settings::REGION_ENV)? {
        return Ok(region);
    }
    let configured = super::config::load(stores.home()).region;
    if interactive {
        let start = existing
            .map(|p| p.region)
            .or(configured)
            .unwrap_or(Region::Global);
        return ui::choose_region(start);
    }
    configured.ok_or_else(|| {
        Error::usage("no --region given, and no terminal to ask on")
            .with_hint("Global is api.minimax.io (international users), CN is api.minimaxi.com (users in China)")
            .with_fix(fix::login(&args_name(args), Some(Region::Global)))
    })
}

fn args_name(args: &LoginArgs) -> ProfileName {
    args.profile.profile.clone().unwrap_or_default()
}

/// Replacing a profile that still works is asked first on a terminal
/// (always worth saying when the region changes); without one, or with
/// --yes, it is replaced and said so. False when the person said no.
fn confirm_replace(
    name: &ProfileName,
    current: &Profile,
    region: Region,
    no_ask: bool,
) -> Result<bool> {
    if current.needs_login {
        return Ok(true);
    }
    let change = if current.region == region {
        String::new()
    } else {
        format!(", {} → {}", current.region.label(), region.label())
    };
    if no_ask {
        ui::tell(&format!(
            "note: replacing the stored profile {} ({}{change})",
            name.profile_id(),
            current.region.label()
        ));
        return Ok(true);
    }
    // The question stays short: a prompt that wraps is drawn twice.
    ui::tell(&format!(
        "{} is already signed in to MiniMax {}.",
        name.profile_id(),
        current.region.label()
    ));
    let question = format!("Replace it{change}?");
    ui::prompt(move || {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_on(&console::Term::stderr())
            .map_err(|e| match e {
                dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => {
                    Error::cancelled()
                }
                other => Error::usage(format!("cannot ask: {other}")),
            })
    })
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
    let key = ui::read_api_key(ui::is_interactive())?;
    check_key(region, &key)?;
    let base_url = region.default_model_base_url()?;
    let profile_id = name.api_key_id();
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
        let existing = held.read()?;
        held.save(existing.as_ref(), &bytes, profile.updated_at)
    };
    super::warnings::tell(&key_stores);
    let saved = saved?;
    let store = saved.store;
    if let Some(warning) = &saved.warning {
        say!("warning: {warning}");
    }
    ui::tell(&format!(
        "✓ Saved the MiniMax API key as {profile_id} ({}) in the {}.",
        region.label(),
        key_stores.describe(store, name)
    ));
    if json {
        print_json(&ApiKeyLoginOutput {
            config_patch: catalog::config_patch(
                catalog,
                api_key::PROVIDER,
                &profile_id,
                "api_key",
                &base_url,
            ),
            profile_id,
            provider: api_key::PROVIDER.to_string(),
            region,
            store,
            base_url,
            default_model: catalog::model_ref(api_key::PROVIDER, &catalog.default),
        })?;
    }
    Ok(0)
}

/// One cheap call with the key, bounded in time: a refused key is stored
/// nowhere; when MiniMax cannot be asked now, the key is kept with a note.
fn check_key(region: Region, key: &api_key::ApiKey) -> Result<()> {
    let api_base = region.api_base()?;
    let checked = crate::portal::usage::accepts_blocking(&api_base, key.secret(), "the API key");
    match checked {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::failed(format!(
            "MiniMax {} refused this API key (HTTP 401); nothing was saved",
            region.label()
        ))
        .with_hint("check that the key is for this region and has not been deleted")),
        Err(e) if e.class == Class::Transient => {
            say!("warning: {}; the key is saved unchecked", e.message);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// How to sign in with a code, as the flags and the terminal say.
struct SignIn {
    region: Region,
    no_browser: bool,
    qr: bool,
    interactive: bool,
    name: ProfileName,
}

/// Opens the link unless told not to, or unless no local browser is
/// likely; returns what to tell the person about it.
fn offer_browser(link: &str, no_browser: bool, where_to_open: &str) -> String {
    if no_browser {
        format!("Open the link in a browser {where_to_open}.")
    } else if let Some(why) = ui::remote_session() {
        format!("Not opening a browser here ({why}): open the link {where_to_open}.")
    } else if let Err(why) = ui::open_browser(link) {
        format!("{why}: open the link {where_to_open} yourself.")
    } else {
        "Opened your browser. If nothing appeared, open the link yourself.".to_string()
    }
}

/// The user-code flow, offering a new code when one expires.
fn sign_in(options: &SignIn) -> Result<LoginTokens> {
    loop {
        match sign_in_with_code(options)? {
            Approval::Approved(tokens) => return Ok(*tokens),
            Approval::CodeExpired if options.interactive => {
                say!("The code expired before it was approved.");
                ui::wait_for_enter("Press Enter for a new code, or Ctrl-C to stop.")?;
            }
            Approval::CodeExpired => {
                return Err(device::code_expired()
                    .with_fix(fix::login(&options.name, Some(options.region))));
            }
        }
    }
}

/// The user-code flow: the link and the code, the browser, the wait.
fn sign_in_with_code(options: &SignIn) -> Result<Approval> {
    // Said before the first request: a portal that does not answer must
    // not leave a blank screen.
    let pending = {
        let _asking = progress("Asking MiniMax for a code…", options.interactive);
        device::start_blocking(options.region)?
    };
    let size = ui::terminal_size();
    show_code(&pending.code, options, size);

    let deadline = pending.code.deadline_ms;
    let user_code = pending.code.user_code.clone();
    let width = size.map_or(usize::MAX, |(_, cols)| cols);
    let waiting = |left: i64, trouble: Option<&str>| {
        let trouble = trouble.map(|w| crate::redact::clean(w, 60));
        waiting_line(&user_code, left, trouble.as_deref(), width)
    };
    // Without a terminal, one line instead of a spinner.
    let spinner = if options.interactive {
        Some(ui::spinner(waiting(
            deadline.saturating_sub(now_ms()),
            None,
        )))
    } else {
        say!("{}…", waiting(deadline.saturating_sub(now_ms()), None));
        None
    };
    let mut every_second = |trouble: Option<&str>| {
        if let Some(spinner) = &spinner {
            spinner.set_message(waiting(deadline.saturating_sub(now_ms()), trouble));
        }
    };
    device::wait_blocking(options.region, &pending, &mut every_second)
}

/// A spinner with `what` on a terminal (gone when dropped), else one line.
fn progress(what: &str, interactive: bool) -> Option<ui::Spinner> {
    if interactive {
        Some(ui::spinner(what.to_string()))
    } else {
        say!("{what}");
        None
    }
}

/// The link and the code, the QR code when asked for, and the browser. With
/// a QR code, the link goes under it and the code into the waiting line, so
/// that on a 24-line terminal all three stay on screen; a terminal too
/// small for the QR code gets the link and a word on how to see it.
fn show_code(code: &wire::DeviceCode, options: &SignIn, size: Option<(usize, usize)>) {
    let link = code.verification_uri.as_str();
    let region = options.region.label();
    let browser = offer_browser(link, options.no_browser, "on any device");
    let qr = options.qr.then(|| ui::qr_code(link)).flatten();
    let plain = format!(
        "\nTo sign in to MiniMax {region}, open this link and confirm the code:\n\n{link}\n\n  \
         Code: {}\n",
        code.user_code
    );
    let Some(qr) = qr else {
        say!("{plain}");
        if options.qr {
            say!("(The link is too long for a QR code.)");
        }
        ui::tell(&browser);
        return;
    };
    let qr_lines = qr.lines().count();
    let qr_cols = qr.lines().next().map_or(0, |l| l.chars().count());
    // The QR code, the link under it and the waiting line.
    let needed = |cols: usize| qr_lines + link.chars().count().div_ceil(cols.max(1)) + 1;
    match size {
        Some((rows, cols)) if qr_cols > cols || needed(cols) > rows => {
            say!("{plain}");
            ui::tell(&format!(
                "{browser}\n(No room for the QR code: it needs a window {} lines tall and \
                 {qr_cols} wide, this one is {rows} × {cols}. Make the window bigger and run \
                 login again to see it.)",
                needed(qr_cols.max(80))
            ));
        }
        _ => {
            // Where no browser opens, the header already says what to do.
            let opened = !options.no_browser && ui::remote_session().is_none();
            ui::tell(&format!(
                "\nTo sign in to MiniMax {region}, scan this QR code with a phone or open the \
                 link under it on any device, and confirm the code {}.{}",
                code.user_code,
                if opened {
                    format!("\n{browser}")
                } else {
                    String::new()
                }
            ));
            say!("{qr}{link}");
        }
    }
}

/// The waiting line: the code, the time left, any trouble, in as many
/// words as fit `width` columns (the spinner takes two more).
fn waiting_line(code: &str, left_ms: i64, trouble: Option<&str>, width: usize) -> String {
    let left = ui::duration(left_ms);
    let choices = match trouble {
        None => vec![
            format!("Waiting for approval of code {code} (expires in {left}; Ctrl-C to cancel)"),
            format!("Waiting for approval of code {code} (expires in {left})"),
            format!("Code {code}, expires in {left}"),
        ],
        Some(why) => vec![
            format!("Waiting for approval of code {code} (expires in {left}; {why}, retrying)"),
            format!("Code {code} (expires in {left}; {why}, retrying)"),
            format!("Code {code} (expires in {left}; retrying)"),
        ],
    };
    ui::one_line(choices, width)
}
