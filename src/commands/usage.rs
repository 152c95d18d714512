use super::print_json;
use crate::cli::UsageArgs;
use crate::clock::now_ms;
use crate::error::Result;
use crate::fix;
use crate::json::{UsageOutput, Window};
use crate::output::print_stdout;
use crate::portal::refresh::HttpRefresher;
use crate::portal::usage::{Endpoints, Usage, fetch_blocking};
use crate::profile::{Profile, ProfileName};
use crate::region::Region;
use crate::session::token_for_use;
use crate::store::Stores;
use crate::ui::duration;

const BAR_WIDTH: usize = 10;

pub fn run(stores: &Stores, json: bool, name: &ProfileName, args: UsageArgs) -> Result<i32> {
    let fresh = token_for_use(stores, &HttpRefresher, name, args.margin.duration());
    super::warnings::tell(stores);
    let fresh = fresh?;
    let profile = &fresh.profile;
    let usage = read_usage(name, profile)?;
    if json {
        print_json(&UsageOutput {
            profile_id: name.profile_id(),
            region: profile.region,
            plan: usage.plan,
            models: usage.models,
        })?;
    } else {
        print_stdout(&render(name, profile.region, &usage))?;
    }
    Ok(0)
}

/// Asks MiniMax for the plan's usage with the profile's token; a refused
/// token's fix is a new login.
fn read_usage(name: &ProfileName, profile: &Profile) -> Result<Usage> {
    let at = Endpoints {
        model_base: profile
            .base_url
            .usable()
            .map_err(crate::error::Error::failed)?
            .clone(),
        api_base: profile.region.api_base()?,
    };
    fetch_blocking(&at, profile.access.secret(), now_ms()).map_err(|e| {
        let fix = fix::login(name, Some(profile.region));
        match e.class {
            crate::error::Class::NeedsLogin => e.with_fix(fix),
            _ => e,
        }
    })
}

/// The usage for people: a line per model and window, names aligned.
fn render(name: &ProfileName, region: Region, usage: &Usage) -> String {
    // Both endpoints report the Coding Plan (the name the docs use).
    let mut text = format!(
        "MiniMax Coding Plan usage of {} ({}):\n",
        name.profile_id(),
        region.label()
    );
    if usage.models.is_empty() {
        text.push_str("  no usage windows reported\n");
    }
    let width = usage
        .models
        .iter()
        .map(|m| m.model_name.chars().count())
        .max()
        .unwrap_or(0);
    for model in &usage.models {
        text.push_str(&format!(
            "  {:<width$}  {}\n",
            model.model_name,
            describe(&model.interval)
        ));
        if let Some(week) = &model.weekly {
            text.push_str(&format!(
                "  {:<width$}  this week: {}\n",
                "",
                describe(week)
            ));
        }
    }
    text
}

/// "[########--] 80% left (1200 of 1500), resets in 3 h 20 min"
fn describe(w: &Window) -> String {
    let bar = match w.remaining_percent {
        Some(p) => {
            let filled = ((p / 100.0) * BAR_WIDTH as f64).round() as usize;
            let filled = filled.min(BAR_WIDTH);
            format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled))
        }
        None => format!("[{}]", "?".repeat(BAR_WIDTH)),
    };
    let percent = w
        .remaining_percent
        .map(|p| format!("{p:.0}% left"))
        .unwrap_or_else(|| "left:".to_string());
    let counts = match (w.remaining, w.total) {
        (Some(left), Some(total)) => format!(" ({left} of {total})"),
        (Some(left), None) => format!(" ({left})"),
        _ => String::new(),
    };
    let reset = match w.resets_at {
        Some(at) => format!(", resets in {}", duration(at.saturating_sub(now_ms()))),
        None => String::new(),
    };
    format!("{bar} {percent}{counts}{reset}")
}
