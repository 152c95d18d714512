//! `openclaw setup`: connect a profile to the real OpenClaw (docs/openclaw.md).

use super::openclaw_apply::{
    apply_edits, apply_setup, json_in, patch_command, save_patch, this_binary, validate,
};
use super::openclaw_plugin;
use super::service::{SERVICE_NAME, Service, service_path, write_service};
use crate::catalog;
use crate::cli::{OpenclawCommand, OpenclawSetupArgs, Route};
use crate::error::{Error, Result};
use crate::fix;
use crate::json::{OpenclawPlanOutput, OpenclawRemoveOutput, OpenclawSetupOutput};
use crate::openclaw::{self, Names, OpenClaw, SetupInputs};
use crate::output::{print_json, print_stdout};
use crate::safe_fs::shell_quote;
use crate::store::Stores;
use serde_json::Value;
use std::path::Path;

pub fn run(stores: &Stores, json: bool, command: OpenclawCommand) -> Result<i32> {
    match command {
        OpenclawCommand::Setup(args) if args.remove => remove(stores, json, &args),
        OpenclawCommand::Setup(args) if args.route == Route::Plugin => {
            openclaw_plugin::setup(stores, json, &args)
        }
        OpenclawCommand::Setup(args) => setup(stores, json, &args),
        OpenclawCommand::Credentials => openclaw_plugin::credentials(stores),
        OpenclawCommand::Onboard(args) => openclaw_plugin::onboard(stores, args),
    }
}

fn setup(stores: &Stores, json: bool, args: &OpenclawSetupArgs) -> Result<i32> {
    let name = &super::profile(&args.profile, stores.home())?;
    let names = Names::of(name)?;
    let Some(loaded) = stores.load(name)? else {
        return Err(Error::needs_login(format!(
            "no MiniMax profile {} is stored to connect to OpenClaw",
            name.profile_id()
        ))
        .with_fix(fix::login(name, None)));
    };
    let binary = this_binary()?;
    let patch = setup_patch(
        stores,
        &names,
        &binary,
        loaded.profile.base_url.as_str(),
        args,
    )?;
    let patch_file = save_patch(stores, &names.provider, "setup", &patch)?;
    let apply = format!(
        "openclaw config patch --file {}",
        shell_quote(&patch_file.display().to_string())
    );
    let found = OpenClaw::find(args.openclaw.as_deref());
    let Some(openclaw) = found.filter(|_| !args.dry_run) else {
        return print_plan(json, args.dry_run, &patch, &apply);
    };

    say!(
        "Checking OpenClaw's stored credentials for {}…",
        names.provider
    );
    let shadows = stored_credentials(&openclaw, &names.provider);
    let already = apply_setup(&openclaw, &patch, &patch_file)?;
    say!("Validating with `openclaw config validate`…");
    validate(&openclaw)?;
    let service = if args.service {
        Some(write_service(stores, &binary, &openclaw.program)?)
    } else {
        None
    };
    report_setup(
        json,
        &names,
        &loaded.profile.region,
        &binary,
        already,
        &shadows,
        service,
    )?;
    Ok(0)
}

/// The setup's patch for the profile whose model base URL is `base_url`.
fn setup_patch(
    stores: &Stores,
    names: &Names,
    binary: &Path,
    base_url: &str,
    args: &OpenclawSetupArgs,
) -> Result<Value> {
    let state_home = crate::paths::real_path(stores.home()).unwrap_or(stores.home().to_path_buf());
    let catalog = catalog::load()?;
    Ok(openclaw::setup_patch(
        &SetupInputs {
            names,
            binary,
            state_home: &state_home,
            base_url,
            set_default: args.set_default,
        },
        &catalog,
    ))
}

/// Without OpenClaw (or with --dry-run): the patch and the command.
/// Without OpenClaw (or with --dry-run): what would change (the whole
/// patch with --json), and the command that applies it.
fn print_plan(json: bool, dry_run: bool, patch: &Value, apply: &str) -> Result<i32> {
    if json {
        print_json(&OpenclawPlanOutput {
            applied: false,
            patch: patch.clone(),
            command: apply.to_string(),
        })?;
    } else {
        print_stdout(&plan_summary(patch))?;
    }
    if !dry_run {
        say!("OpenClaw's command was not found on PATH (pass --openclaw PATH).");
    }
    say!("To apply it, run:\n  {apply}\n(--json prints the whole patch)");
    Ok(0)
}

/// One line per thing the patch adds (or, with nulls, removes).
fn plan_summary(patch: &Value) -> String {
    let keys = |pointer: &str| -> Vec<String> {
        patch
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let verb = |pointer: &str| {
        if patch.pointer(pointer).is_some_and(Value::is_null) {
            "remove"
        } else {
            "set"
        }
    };
    let mut text = String::from("Would change in OpenClaw's config:\n");
    for name in keys("/secrets/providers") {
        let at = format!("/secrets/providers/{name}");
        let runs = patch
            .pointer(&format!("{at}/args"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        text.push_str(&format!(
            "  {} secret provider {name}: runs `{runs}`\n",
            verb(&at)
        ));
    }
    for name in keys("/models/providers") {
        let at = format!("/models/providers/{name}");
        let models = patch
            .pointer(&format!("{at}/models"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let base = patch
            .pointer(&format!("{at}/baseUrl"))
            .and_then(Value::as_str)
            .unwrap_or("");
        text.push_str(&format!(
            "  {} model provider {name}: {base}, {models} models\n",
            verb(&at)
        ));
    }
    let aliases = keys("/agents/defaults/models").len();
    if aliases > 0 {
        text.push_str(&format!("  {aliases} model aliases\n"));
    }
    if let Some(primary) = patch.pointer("/agents/defaults/model/primary") {
        match primary.as_str() {
            Some(model) => text.push_str(&format!("  default model: {model}\n")),
            None => text.push_str("  the default model, when it is this provider's\n"),
        }
    }
    text
}

fn report_setup(
    json: bool,
    names: &Names,
    region: &crate::region::Region,
    binary: &Path,
    already: bool,
    shadows: &[String],
    service: Option<Service>,
) -> Result<()> {
    // The ids come from OpenClaw: shown cleaned, and put into a command
    // only when they are plainly ids.
    let shown: Vec<String> = shadows
        .iter()
        .map(|id| crate::redact::clean(id, 300))
        .collect();
    for (id, shown) in shadows.iter().zip(&shown) {
        let fix = if openclaw::is_ref_id(id) {
            format!("fix: openclaw models auth logout {id} --yes")
        } else {
            "Its id holds characters no command should carry: remove it with OpenClaw's \
             `openclaw models auth list` and `openclaw models auth logout`."
                .to_string()
        };
        say!(
            "warning: OpenClaw also holds its own stored credential {shown} for {}. OpenClaw's \
             audit counts it as taking precedence, and it keeps a plaintext token on disk.\n  \
             {fix}",
            names.provider
        );
    }
    if json {
        return print_json(&OpenclawSetupOutput {
            applied: !already,
            already,
            profile_id: names.profile.profile_id(),
            provider: names.provider.clone(),
            secret_provider: names.secret_provider.clone(),
            command: binary.to_path_buf(),
            stored_credentials: shown,
            service: service.map(|s| s.path),
        });
    }
    let mut text = format!(
        "✓ OpenClaw now gets {}'s token ({}) from {} token --profile {}.\n  \
         Models: {}/… ({} provider); every OpenClaw process asks for a fresh token.\n",
        names.profile.profile_id(),
        region.label(),
        binary.display(),
        names.profile,
        names.provider,
        names.provider,
    );
    match &service {
        Some(service) => text.push_str(&format!(
            "  The watcher for a running Gateway is in {}. Start it with:\n    {}\n",
            service.path.display(),
            service.enable
        )),
        None => text.push_str(&format!(
            "  A running Gateway reads the token once; keep it fresh with:\n    \
             minimax-portal-auth refresh --watch{} --then openclaw secrets reload\n  \
             or as a service: minimax-portal-auth openclaw setup --service{}\n",
            fix::profile_flag(&names.profile),
            fix::profile_flag(&names.profile)
        )),
    }
    text.push_str(&format!(
        "  Undo: minimax-portal-auth openclaw setup --remove{}\n",
        fix::profile_flag(&names.profile)
    ));
    print_stdout(&text)
}

fn remove(stores: &Stores, json: bool, args: &OpenclawSetupArgs) -> Result<i32> {
    let names = Names::of(&super::profile(&args.profile, stores.home())?)?;
    let catalog = catalog::load()?;
    let found = OpenClaw::find(args.openclaw.as_deref());
    let Some(openclaw) = found.filter(|_| !args.dry_run) else {
        let all = openclaw::combine(&openclaw::removal_edits(&names, &catalog, true));
        let file = save_patch(stores, &names.provider, "remove", &all.patch)?;
        return print_plan(json, args.dry_run, &all.patch, &patch_command(&file, &all));
    };
    if openclaw.config_file().is_some_and(|file| !file.exists()) {
        // Nothing to look at, and no config file to create by trying.
        report_removal(json, &names, false, 0)?;
        return Ok(0);
    }
    let config = openclaw.config();
    let plugin = openclaw_plugin::remove(stores, json, &openclaw, config.as_ref(), &names.profile)?;
    let config = if plugin.is_some() {
        openclaw.config()
    } else {
        config
    };
    let present = config.as_ref().is_some_and(|c| {
        c.pointer(&format!("/models/providers/{}", names.provider))
            .is_some()
            || c.pointer(&format!("/secrets/providers/{}", names.secret_provider))
                .is_some()
    });
    if plugin.is_some() && !present {
        return Ok(0);
    }
    let steps = if present {
        remove_setup(stores, &openclaw, &names, &catalog, config.as_ref())?
    } else {
        0
    };
    report_removal(json, &names, present, steps)?;
    Ok(0)
}

/// Takes the setup out of OpenClaw's config (the default model too when it
/// is this provider's), and validates what is left. Returns how many
/// patches it took.
fn remove_setup(
    stores: &Stores,
    openclaw: &OpenClaw,
    names: &Names,
    catalog: &catalog::Catalog,
    config: Option<&Value>,
) -> Result<usize> {
    let primary = primary_model(openclaw, config);
    let ours = primary.is_some_and(|p| p.starts_with(&format!("{}/", names.provider)));
    let edits = openclaw::removal_edits(names, catalog, ours);
    let groups = match config {
        Some(config) => openclaw::plan_removal(config, &edits),
        None => vec![edits],
    };
    say!("Removing it with `openclaw config patch`…");
    let mut steps = 0;
    for group in &groups {
        steps += apply_edits(stores, openclaw, &names.provider, group)?;
    }
    say!("Validating with `openclaw config validate`…");
    validate(openclaw)?;
    Ok(steps)
}

/// What `--remove` did, and the watcher service when it is still there.
fn report_removal(json: bool, names: &Names, present: bool, steps: usize) -> Result<()> {
    let unit = service_path();
    let unit_there = unit.as_ref().is_some_and(|p| p.exists());
    if json {
        print_json(&OpenclawRemoveOutput {
            removed: present,
            patches: steps,
            provider: names.provider.clone(),
            service: unit.filter(|_| unit_there),
        })?;
    } else if present {
        print_stdout(&format!(
            "✓ Removed {} and its secret provider from OpenClaw's config.\n",
            names.provider
        ))?;
    } else {
        print_stdout(&format!(
            "OpenClaw's config holds no {} setup; nothing to remove.\n",
            names.provider
        ))?;
    }
    if let Some(path) = service_path().filter(|p| p.exists()) {
        say!(
            "The watcher service is still installed; to remove it:\n  \
             systemctl --user disable --now {SERVICE_NAME} && rm {}",
            shell_quote(&path.display().to_string())
        );
    }
    Ok(())
}

/// The default model, from the config when it could be read, else asked.
fn primary_model(openclaw: &OpenClaw, config: Option<&Value>) -> Option<String> {
    if let Some(config) = config {
        return config
            .pointer("/agents/defaults/model/primary")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let out = openclaw
        .run(&["config", "get", "agents.defaults.model.primary", "--json"])
        .ok()
        .filter(|o| o.ok)?;
    serde_json::from_str::<Value>(out.stdout.trim())
        .ok()?
        .as_str()
        .map(str::to_string)
}

/// OpenClaw's own stored credentials for `provider` (from its sign-in or a
/// pasted token): they shadow the exec reference in its audit.
fn stored_credentials(openclaw: &OpenClaw, provider: &str) -> Vec<String> {
    let ids_in = |v: &Value, list: &str, id_key: &str| -> Vec<String> {
        v.pointer(list)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter(|p| p["provider"] == provider)
                    .filter_map(|p| p[id_key].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let status = openclaw
        .run(&["models", "status", "--json"])
        .ok()
        .filter(|o| o.ok)
        .and_then(|o| json_in(&o.stdout));
    if let Some(status) = status {
        return ids_in(&status, "/auth/oauth/profiles", "profileId");
    }
    // `models status` resolves every secret; when one fails, ask the list.
    openclaw
        .run(&["models", "auth", "list", "--json"])
        .ok()
        .filter(|o| o.ok)
        .and_then(|o| json_in(&o.stdout))
        .map(|list| ids_in(&list, "/profiles", "id"))
        .unwrap_or_default()
}
