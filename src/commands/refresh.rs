use super::print_json;
use crate::cli::RefreshArgs;
use crate::error::Result;
use crate::json::{RefreshOutput, RefreshRow};
use crate::portal::refresh::HttpRefresher;
use crate::profile::{ProfileName, now_ms};
use crate::session::{OnFailure, Want, ensure_fresh};
use crate::store::Stores;
use crate::ui;

/// How bad an exit code is, for "exit with the worst outcome".
fn severity(code: i32) -> u8 {
    match code {
        0 => 0,
        4 => 1,
        3 => 2,
        5 => 3,
        _ => 4,
    }
}

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
    let mut worst = 0;
    for name in names {
        let (report, code) = refresh_one(stores, &name, &want);
        if severity(code) > severity(worst) {
            worst = code;
        }
        reports.push(report);
    }
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

/// One profile's report row and exit code.
fn refresh_one(stores: &Stores, name: &ProfileName, want: &Want) -> (RefreshRow, i32) {
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
                outcome: fresh.outcome.as_str().to_string(),
                expires: Some(fresh.profile.expires),
                store: Some(fresh.store),
                message: None,
                fix: None,
                retry_after: None,
                warnings: fresh.warnings.iter().map(ToString::to_string).collect(),
            };
            (row, 0)
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
                outcome: e.class.as_str().to_string(),
                expires: None,
                store: None,
                message: Some(e.message),
                fix: e.fix,
                retry_after: e.retry_after.map(|d| d.as_secs()),
                warnings: Vec::new(),
            };
            (row, e.class.exit_code())
        }
    }
}
