use super::print_json;
use crate::cli::RefreshArgs;
use crate::clock::now_ms;
use crate::error::{Class, Result};
use crate::json::{RefreshOutcome, RefreshOutput, RefreshRow};
use crate::portal::refresh::HttpRefresher;
use crate::profile::ProfileName;
use crate::session::{OnFailure, Want, ensure_fresh};
use crate::store::Stores;
use crate::ui;

pub fn run(stores: &Stores, json: bool, args: RefreshArgs) -> Result<i32> {
    stores.sweep_all();
    if args.watch {
        let names = match args.profile {
            Some(name) => vec![name],
            None => existing(stores)?,
        };
        return super::watch::run(stores, json, names, args.margin.duration(), &args.then);
    }
    let want = Want {
        margin: args.margin.duration(),
        force: args.force,
        on_failure: OnFailure::Fail,
    };
    let names = match args.profile {
        Some(name) => vec![name],
        None => existing(stores)?,
    };
    let mut reports: Vec<RefreshRow> = Vec::new();
    // The exit code is the worst failure's (none: success).
    let severity = |failure: Option<Class>| failure.map_or(0, Class::severity);
    let mut worst: Option<Class> = None;
    for name in names {
        let (report, failure) = refresh_one(stores, &name, &want);
        if severity(failure) > severity(worst) {
            worst = failure;
        }
        reports.push(report);
    }
    let worst = worst.map_or(0, Class::exit_code);
    if reports.is_empty() {
        say!("No MiniMax profiles are stored; nothing to refresh.");
    }
    if json {
        print_json(&RefreshOutput {
            profiles: reports,
            exit_code: worst,
        })?;
    }
    Ok(worst)
}

/// The profiles that are stored (or whose store cannot say).
fn existing(stores: &Stores) -> Result<Vec<ProfileName>> {
    Ok(stores
        .names()?
        .into_iter()
        .filter(|name| !matches!(stores.read(name), Ok(None)))
        .collect())
}

/// One profile's report row, and the class of its failure.
fn refresh_one(stores: &Stores, name: &ProfileName, want: &Want) -> (RefreshRow, Option<Class>) {
    let result = ensure_fresh(stores, &HttpRefresher, name, want);
    super::warnings::tell(stores);
    match result {
        Ok(fresh) => {
            say!(
                "{}: {} (valid for {})",
                name.profile_id(),
                fresh.outcome.as_str().replace('_', " "),
                ui::duration(fresh.profile.expires.saturating_sub(now_ms()))
            );
            let row = RefreshRow {
                profile_id: name.profile_id(),
                outcome: RefreshOutcome::Fresh(fresh.outcome),
                expires: Some(fresh.profile.expires),
                store: Some(fresh.store),
                message: None,
                fix: None,
                retry_after: None,
                warnings: fresh.warnings.iter().map(ToString::to_string).collect(),
            };
            (row, None)
        }
        Err(e) => {
            // A message that names the profile is not prefixed with it again.
            if e.message.contains(&name.profile_id()) {
                say!("{e}");
            } else {
                say!("{}: {e}", name.profile_id());
            }
            let row = RefreshRow {
                profile_id: name.profile_id(),
                outcome: RefreshOutcome::Failed(e.class),
                expires: None,
                store: None,
                message: Some(e.message),
                fix: e.fix,
                retry_after: e.retry_after.map(|d| d.as_secs()),
                warnings: Vec::new(),
            };
            (row, Some(e.class))
        }
    }
}
