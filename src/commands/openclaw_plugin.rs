//! The plugin route into OpenClaw: `openclaw setup` (the default route),
//! its `--remove`, and the two commands the plugin runs, `openclaw
//! credentials` (every turn) and `openclaw onboard` (a sign-in started in
//! OpenClaw). What the answers hold is decided in `openclaw_plugin.rs`.

use super::openclaw_apply::{
    apply_edits, apply_setup, expect_ok, save_patch, this_binary, validate,
};
use crate::catalog;
use crate::cli::{Cli, Command, OpenclawOnboardArgs, OpenclawSetupArgs};
use crate::clock::now_ms;
use crate::error::{Class, Error, Result};
use crate::fix;
use crate::json::{OpenclawPluginRemoveOutput, OpenclawPluginSetupOutput};
use crate::openclaw::{self, Edit, OpenClaw};
use crate::openclaw_plugin::{self as plugin, AHEAD, Answer, PLUGIN_ID};
use crate::output::{print_json, print_stdout};
use crate::portal::refresh::HttpRefresher;
use crate::profile::{PROVIDER, Profile, ProfileName};
use crate::session::{cached_token, token_for_use};
use crate::store::{StoreMode, Stores};
use clap::Parser;
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};

/// OpenClaw's config, as the plugin passes it to a non-interactive sign-in.
const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// `openclaw credentials`: every profile the plugin serves, fresh, as
/// OpenClaw's external auth overlay takes it. Always exit 0 with an answer:
/// a profile that cannot be served is an error text OpenClaw shows.
pub fn credentials(stores: &Stores) -> Result<i32> {
    super::warnings::quiet();
    let now = now_ms();
    let mut answer = Answer::new(now);
    for name in super::config::openclaw_profiles(stores.home()) {
        // The kernel cache first (store/kcache.rs); a miss takes the store path.
        if let Some(hit) = cached_token(stores, &name, crate::DEFAULT_MARGIN + AHEAD) {
            answer.serve_token(&name, hit.access.secret(), hit.expires, hit.updated_at, now);
            continue;
        }
        match token_for_use(stores, &HttpRefresher, &name, crate::DEFAULT_MARGIN + AHEAD) {
            Ok(fresh) => answer.serve(&name, &fresh.profile, now),
            Err(e) => answer.fail(&name, &e),
        }
    }
    print_json(&answer.finish(now))?;
    Ok(0)
}

/// `openclaw onboard`: signs in (or keeps a working profile), connects it
/// to the plugin, and prints what OpenClaw stores and merges.
pub fn onboard(stores: &Stores, args: OpenclawOnboardArgs) -> Result<i32> {
    let name = super::profile(&args.profile, stores.home())?;
    let config = if args.non_interactive {
        Some(read_config()?)
    } else {
        None
    };
    let profile = match working_profile(stores, &name)? {
        Some(profile) => {
            say!(
                "Using the MiniMax {} profile {} that minimax-portal-auth keeps.\n  \
                 To sign in again: {}",
                profile.region.label(),
                name.profile_id(),
                fix::login(&name, None)
            );
            profile
        }
        None => sign_in(stores, &name)?,
    };
    remember(stores.home(), &name, true)?;
    let catalog = catalog::load()?;
    let out = match config {
        Some(config) => plugin::onboard_config(&catalog, &name, profile.base_url.as_str(), &config),
        None => plugin::onboard_result(&catalog, &name, profile.base_url.as_str()),
    };
    print_json(&out)?;
    Ok(0)
}

/// A stored profile that needs no new sign-in.
fn working_profile(stores: &Stores, name: &ProfileName) -> Result<Option<Profile>> {
    match stores.load(name) {
        Ok(Some(loaded)) if !loaded.profile.needs_login => Ok(Some(loaded.profile)),
        Ok(_) => Ok(None),
        Err(e) if e.class == Class::NeedsLogin => Ok(None),
        Err(e) => Err(e),
    }
}

/// `login -p NAME`, as typed (so MINIMAX_PORTAL_REGION and the settings
/// count), talking to the user on stderr and the terminal.
fn sign_in(stores: &Stores, name: &ProfileName) -> Result<Profile> {
    let cli = Cli::try_parse_from(["minimax-portal-auth", "login", "--profile", name.as_str()])
        .map_err(|e| Error::failed(format!("cannot start the sign-in: {e}")))?;
    let Command::Login(login) = cli.command else {
        return Err(Error::failed("cannot start the sign-in"));
    };
    super::login::run(stores, false, name, login)?;
    working_profile(stores, name)?.ok_or_else(|| {
        Error::failed("the sign-in saved no profile").with_fix(fix::login(name, None))
    })
}

fn read_config() -> Result<Value> {
    let mut text = Vec::new();
    std::io::stdin()
        .take(MAX_CONFIG_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| Error::failed(format!("cannot read OpenClaw's config on stdin: {e}")))?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&text)
        .map_err(|e| Error::failed(format!("OpenClaw's config on stdin is not JSON ({e})")))
}

/// Adds (or takes out) a profile from those the plugin serves.
fn remember(home: &Path, name: &ProfileName, connect: bool) -> Result<()> {
    let mut settings = super::config::load(home);
    let before = settings.openclaw_profiles.clone();
    settings.openclaw_profiles.retain(|p| p != name.as_str());
    if connect {
        settings.openclaw_profiles.push(name.as_str().to_string());
        settings.openclaw_profiles.sort();
    }
    if settings.openclaw_profiles != before {
        settings.save(home)?;
    }
    Ok(())
}

/// The state folder as the plugin must name it (absolute, resolved).
fn state_home(stores: &Stores) -> PathBuf {
    crate::paths::real_path(stores.home()).unwrap_or(stores.home().to_path_buf())
}

/// The store the plugin's questions use: what this run was told, unless
/// that is the default.
fn store_choice(stores: &Stores) -> Option<&'static str> {
    (stores.mode() != StoreMode::Auto).then(|| stores.mode().as_str())
}

/// Whether OpenClaw's config loads the plugin from `dir`, enabled.
fn plugin_installed(config: &Value, dir: &Path) -> bool {
    let dir = dir.display().to_string();
    let loaded = config
        .pointer("/plugins/load/paths")
        .and_then(Value::as_array)
        .is_some_and(|paths| paths.iter().any(|p| p.as_str() == Some(&dir)));
    let enabled = config
        .pointer(&format!("/plugins/entries/{PLUGIN_ID}/enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    loaded && enabled
}

/// `openclaw setup` by the plugin route.
pub fn setup(stores: &Stores, json: bool, args: &OpenclawSetupArgs) -> Result<i32> {
    if args.service {
        return Err(Error::usage(
            "--service is for --route exec: with the plugin, OpenClaw asks for a fresh token on \
             every turn and needs no watcher",
        ));
    }
    let name = super::profile(&args.profile, stores.home())?;
    // The same naming rules as the exec route (lowercase, no clashes).
    crate::openclaw::Names::of(&name)?;
    let binary = this_binary()?;
    let home = state_home(stores);
    let dir = plugin::plugin_dir(&home);
    let catalog = catalog::load()?;
    let profile = working_profile(stores, &name)?;
    let patch = profile
        .as_ref()
        .map(|p| plugin::config_patch(&catalog, &name, p.base_url.as_str(), args.set_default));
    let found = OpenClaw::find(args.openclaw.as_deref());
    let Some(openclaw) = found.filter(|_| !args.dry_run) else {
        return print_plan(json, args, &name, &dir, patch.as_ref(), &catalog);
    };

    let record = plugin::install_record(&binary, &home, store_choice(stores));
    let updated = plugin::write_plugin(&dir, &record)?;
    remember(&home, &name, true)?;
    let config = openclaw.config();
    let installed = config.as_ref().is_some_and(|c| plugin_installed(c, &dir));
    if !installed {
        say!("Installing the plugin with `openclaw plugins install --link`…");
        let dir_arg = dir.display().to_string();
        expect_ok(
            &openclaw,
            &[
                "plugins",
                "install",
                "--link",
                "--force",
                "--accept-capabilities",
                &dir_arg,
            ],
        )?;
    }
    let already = match &patch {
        Some(patch) => {
            let file = save_patch(stores, PROVIDER, "plugin-setup", patch)?;
            apply_setup(&openclaw, patch, &file)?
        }
        None => true,
    };
    if profile.is_some() {
        // OpenClaw consults the plugin only once its auth store exists;
        // an order entry creates it without storing any credential.
        let id = plugin::openclaw_profile_id(&name);
        expect_ok(
            &openclaw,
            &[
                "models",
                "auth",
                "order",
                "set",
                "--provider",
                PROVIDER,
                &id,
            ],
        )?;
    }
    say!("Validating with `openclaw config validate`…");
    validate(&openclaw)?;
    let changed = !installed || !already || updated;
    report_setup(json, args, &name, &dir, profile.as_ref(), changed, &catalog)?;
    Ok(0)
}

fn print_plan(
    json: bool,
    args: &OpenclawSetupArgs,
    name: &ProfileName,
    dir: &Path,
    patch: Option<&Value>,
    catalog: &catalog::Catalog,
) -> Result<i32> {
    if json {
        print_json(&OpenclawPluginSetupOutput {
            applied: false,
            changed: false,
            route: "plugin".into(),
            plugin: PLUGIN_ID.into(),
            plugin_dir: dir.to_path_buf(),
            profile_id: name.profile_id(),
            default_model: args.set_default.then(|| plugin::default_model(catalog)),
            patch: patch.cloned(),
        })?;
    } else {
        let mut text = format!(
            "Would install the OpenClaw plugin {PLUGIN_ID} from {}\n  \
             (openclaw plugins install --link), which hands OpenClaw {}'s token on every turn.\n",
            dir.display(),
            name.profile_id()
        );
        match patch {
            Some(_) => text.push_str(&format!(
                "Would set OpenClaw's provider {PROVIDER} to this profile's model base URL, \
                 with aliases{}.\n",
                if args.set_default {
                    format!(" and the default model {}", plugin::default_model(catalog))
                } else {
                    String::new()
                }
            )),
            None => text.push_str(
                "No profile is stored yet: sign in afterwards with\n  \
                 openclaw onboard --auth-choice minimax-portal\n",
            ),
        }
        print_stdout(&text)?;
    }
    if !args.dry_run {
        say!("OpenClaw's command was not found on PATH (pass --openclaw PATH).");
    }
    Ok(0)
}

fn report_setup(
    json: bool,
    args: &OpenclawSetupArgs,
    name: &ProfileName,
    dir: &Path,
    profile: Option<&Profile>,
    changed: bool,
    catalog: &catalog::Catalog,
) -> Result<()> {
    if json {
        return print_json(&OpenclawPluginSetupOutput {
            applied: true,
            changed,
            route: "plugin".into(),
            plugin: PLUGIN_ID.into(),
            plugin_dir: dir.to_path_buf(),
            profile_id: name.profile_id(),
            default_model: args.set_default.then(|| plugin::default_model(catalog)),
            patch: None,
        });
    }
    let mut text = if changed {
        format!(
            "✓ OpenClaw's plugin {PLUGIN_ID} now hands OpenClaw {}'s token on every turn.\n",
            name.profile_id()
        )
    } else {
        format!(
            "✓ Already set up: OpenClaw's plugin {PLUGIN_ID} serves {}; nothing changed.\n",
            name.profile_id()
        )
    };
    match profile {
        Some(profile) => {
            text.push_str(&format!(
                "  Provider {PROVIDER} uses MiniMax {} ({}).\n",
                profile.region.label(),
                profile.base_url
            ));
            if args.set_default {
                text.push_str(&format!(
                    "  OpenClaw's default model is now {}.\n",
                    plugin::default_model(catalog)
                ));
            }
            text.push_str(
                "  A running Gateway picks it up at its next start: openclaw gateway restart\n",
            );
        }
        None => text.push_str(
            "  Next, sign in from OpenClaw:\n    openclaw onboard --auth-choice minimax-portal\n",
        ),
    }
    text.push_str(&format!(
        "  Undo: minimax-portal-auth openclaw setup --remove{}\n",
        fix::profile_flag(name)
    ));
    print_stdout(&text)
}

/// `openclaw setup --remove` of the plugin route; None when OpenClaw's
/// config shows no plugin setup (the exec route may still be there).
pub fn remove(
    stores: &Stores,
    json: bool,
    openclaw: &OpenClaw,
    config: Option<&Value>,
    name: &ProfileName,
) -> Result<Option<i32>> {
    let home = state_home(stores);
    let dir = plugin::plugin_dir(&home);
    let present = config.is_none_or(|c| {
        c.pointer(&format!("/plugins/entries/{PLUGIN_ID}"))
            .is_some()
    });
    if !present {
        return Ok(None);
    }
    remember(&home, name, false)?;
    let others = !super::config::load(&home).openclaw_profiles.is_empty();
    let mut steps = 0;
    let edits = removal_edits(config, &catalog::load()?, name, others);
    if !edits.is_empty() {
        say!("Removing the provider settings with `openclaw config patch`…");
        let groups = match config {
            Some(config) => openclaw::plan_removal(config, &edits),
            None => vec![edits],
        };
        for group in &groups {
            steps += apply_edits(stores, openclaw, PROVIDER, group)?;
        }
    }
    let id = plugin::openclaw_profile_id(name);
    let _ = openclaw.run(&["models", "auth", "order", "clear", "--provider", PROVIDER]);
    let _ = openclaw.run(&["models", "auth", "logout", &id, "--yes"]);
    if !others {
        say!("Uninstalling the plugin with `openclaw plugins uninstall`…");
        expect_ok(openclaw, &["plugins", "uninstall", PLUGIN_ID, "--force"])?;
        // Uninstalling leaves the entry behind, disabled.
        let entry = plain(json!({"plugins": {"entries": {PLUGIN_ID: null}}}));
        steps += apply_edits(stores, openclaw, PROVIDER, &[entry])?;
        let _ = std::fs::remove_dir_all(&dir);
    }
    say!("Validating with `openclaw config validate`…");
    validate(openclaw)?;
    if json {
        print_json(&OpenclawPluginRemoveOutput {
            removed: true,
            patches: steps,
            plugin_removed: !others,
            profile_id: id,
        })?;
    } else {
        print_stdout(&format!(
            "✓ Removed {id} from OpenClaw{}.\n",
            if others {
                ""
            } else {
                ", and the plugin with it"
            }
        ))?;
    }
    Ok(Some(0))
}

fn plain(patch: Value) -> Edit {
    Edit {
        patch,
        replace: None,
    }
}

/// The config the plugin route added for `name`: its auth profile entry,
/// and with the last profile the provider's base URL, the aliases and the
/// default model when it is ours.
fn removal_edits(
    config: Option<&Value>,
    catalog: &catalog::Catalog,
    name: &ProfileName,
    others: bool,
) -> Vec<Edit> {
    let has = |pointer: &str| config.is_none_or(|c| c.pointer(pointer).is_some());
    let id = plugin::openclaw_profile_id(name);
    let mut edits = Vec::new();
    if has(&format!("/auth/profiles/{}", id.replace('/', "~1"))) {
        edits.push(plain(json!({"auth": {"profiles": {&id: null}}})));
    }
    if others {
        return edits;
    }
    if has(&format!("/models/providers/{PROVIDER}")) {
        edits.push(plain(json!({"models": {"providers": {PROVIDER: null}}})));
    }
    let aliases: serde_json::Map<String, Value> = plugin::aliases(catalog)
        .into_iter()
        .filter(|(model, _)| {
            has(&format!(
                "/agents/defaults/models/{}",
                model.replace('/', "~1")
            ))
        })
        .map(|(model, _)| (model, Value::Null))
        .collect();
    if !aliases.is_empty() {
        edits.push(plain(json!({"agents": {"defaults": {"models": aliases}}})));
    }
    let primary = config
        .and_then(|c| c.pointer("/agents/defaults/model/primary"))
        .and_then(Value::as_str);
    if primary.is_some_and(|p| p.starts_with(&format!("{PROVIDER}/"))) {
        edits.push(plain(
            json!({"agents": {"defaults": {"model": {"primary": null}}}}),
        ));
    }
    edits
}
