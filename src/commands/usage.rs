use super::print_json;
use crate::cli::UsageArgs;
use crate::error::Result;
use crate::portal::http::Http;
use crate::portal::refresh::HttpRefresher;
use crate::portal::usage::{ModelWindow, fetch};
use crate::profile::now_ms;
use crate::runtime::run_async;
use crate::session::token_for_use;
use crate::store::Stores;
use crate::ui::{duration, local_time};

const BAR_WIDTH: usize = 20;

pub fn run(stores: &Stores, json: bool, args: UsageArgs) -> Result<i32> {
    let name = args.profile.profile;
    let fresh = token_for_use(stores, &HttpRefresher, &name, args.margin.duration())?;
    let api_base = fresh.profile.region.api_base()?;
    let usage = run_async(async {
        let http = Http::new()?;
        fetch(&http, &api_base, fresh.profile.access.secret()).await
    })??;

    say!(
        "MiniMax {} usage for {} ({}):",
        if usage.plan == "coding_plan" {
            "Coding Plan"
        } else {
            "Token Plan"
        },
        name.profile_id(),
        fresh.profile.region.label()
    );
    if usage.windows.is_empty() {
        say!("  no usage windows reported");
    }
    for window in &usage.windows {
        say!("{}", describe(window));
    }
    say!(
        "  (\"count\" is MiniMax's current_interval_usage_count; clients disagree whether it \
         counts used or remaining requests, so both raw numbers are shown)"
    );
    if json {
        let windows: Vec<_> = usage
            .windows
            .iter()
            .map(|w| {
                serde_json::json!({
                    "model_name": w.model_name,
                    "start_time": w.start_time,
                    "end_time": w.end_time,
                    "remains_time": w.remains_time,
                    "current_interval_total_count": w.current_interval_total_count,
                    "current_interval_usage_count": w.current_interval_usage_count,
                    "resets_at": resets_at(w),
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "profile_id": name.profile_id(),
            "region": fresh.profile.region,
            "plan": usage.plan,
            "models": windows,
        }))?;
    }
    Ok(0)
}

/// When the window resets: its end, else now plus what is left.
fn resets_at(w: &ModelWindow) -> Option<i64> {
    w.end_time
        .or_else(|| w.remains_time.map(|left| now_ms().saturating_add(left)))
}

fn describe(w: &ModelWindow) -> String {
    let (count, total) = (
        w.current_interval_usage_count,
        w.current_interval_total_count,
    );
    let bar = match (count, total) {
        (Some(count), Some(total)) if total > 0 => {
            let filled =
                ((count.clamp(0, total) as f64 / total as f64) * BAR_WIDTH as f64).round() as usize;
            format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled))
        }
        _ => format!("[{}]", "?".repeat(BAR_WIDTH)),
    };
    let numbers = format!(
        "count {} of {}",
        count.map_or("?".to_string(), |c| c.to_string()),
        total.map_or("?".to_string(), |t| t.to_string())
    );
    let reset = match resets_at(w) {
        Some(at) => format!(
            "resets {} (in {})",
            local_time(at),
            duration(at.saturating_sub(now_ms()))
        ),
        None => "reset time not given".to_string(),
    };
    format!("  {:<24} {bar} {numbers}  {reset}", w.model_name)
}
