use super::print_json;
use crate::cli::RefreshArgs;
use crate::error::{Class, Result};
use crate::profile::now_ms;
use crate::session::{OnTransient, ensure_fresh};
use crate::store::Stores;
use serde_json::{Value, json};

/// How bad an exit code is, for "exit with the worst outcome".
fn severity(code: i32) -> u8 {
    match code {
        0 => 0,
        4 => 1,
        3 => 2,
        _ => 3,
    }
}

pub fn run(stores: &Stores, json: bool, args: RefreshArgs) -> Result<i32> {
    let margin = args.margin.duration();
    let (names, only_existing) = match args.profile {
        Some(name) => (vec![name], false),
        None => (stores.names()?, true),
    };
    let mut reports: Vec<Value> = Vec::new();
    let mut worst = 0;
    for name in names {
        if only_existing && matches!(stores.load(&name), Ok(None)) {
            continue;
        }
        let (report, code) =
            match ensure_fresh(stores, &name, margin, args.force, OnTransient::Fail) {
                Ok(fresh) => {
                    let left = ui_left(fresh.profile.expires);
                    eprintln!(
                        "{}: {} (valid for {left})",
                        name.profile_id(),
                        fresh.outcome.as_str().replace('_', " ")
                    );
                    (
                        json!({
                            "profile_id": name.profile_id(),
                            "outcome": fresh.outcome.as_str(),
                            "expires": fresh.profile.expires,
                            "store": fresh.store,
                            "message": null,
                            "fix": null,
                        }),
                        0,
                    )
                }
                Err(e) => {
                    eprintln!("{}: {e}", name.profile_id());
                    let outcome = match e.class {
                        Class::NeedsLogin => "needs_login",
                        Class::Transient => "transient",
                        _ => "failed",
                    };
                    (
                        json!({
                            "profile_id": name.profile_id(),
                            "outcome": outcome,
                            "expires": null,
                            "store": null,
                            "message": e.message,
                            "fix": e.hint,
                        }),
                        e.class.exit_code(),
                    )
                }
            };
        if severity(code) > severity(worst) {
            worst = code;
        }
        reports.push(report);
    }
    if reports.is_empty() {
        eprintln!("No MiniMax profiles are stored; nothing to refresh.");
    }
    if json {
        print_json(&json!({"profiles": reports, "exit_code": worst}));
    }
    Ok(worst)
}

fn ui_left(expires: i64) -> String {
    let secs = ((expires - now_ms()) / 1000).max(0);
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}
