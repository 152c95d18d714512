//! `status`: one block per profile, in the manner of `gh auth status`: what
//! works (✓), what does not (✗) and the command that fixes it. On stdout
//! when all is well, on stderr (and exit 1) when something needs attention.

use super::print_json;
use crate::api_key::ApiKeyProfile;
use crate::cli::StatusArgs;
use crate::clock::now_ms;
use crate::error::{Class, Error, Result};
use crate::fix;
use crate::json::{ApiKeyRow, ProfileState, StatusOutput, StatusRow};
use crate::output::print_stdout;
use crate::portal::refresh::HttpRefresher;
use crate::profile::{Profile, ProfileName};
use crate::session::{self, OnFailure, Outcome, Want};
use crate::store::{Loaded, Stores, Warning};
use crate::ui::{duration, fit, mask};
use serde_json::Value;

pub fn run(stores: &Stores, json: bool, args: StatusArgs) -> Result<i32> {
    stores.sweep_all();
    let default = super::config::default_profile(stores.home()).unwrap_or_default();
    let (names, explicit) = match &args.profile {
        Some(name) => (vec![name.clone()], true),
        None => (stores.names()?, false),
    };
    let mut rows = Vec::new();
    let mut blocks = Vec::new();
    let mut unreachable = false;
    for name in names {
        let Some((row, lines)) =
            profile_block(stores, &name, &args, explicit, &default, &mut unreachable)?
        else {
            continue;
        };
        rows.push(row);
        blocks.push(lines);
    }
    let (key_rows, key_blocks) = if explicit {
        (Vec::new(), Vec::new())
    } else {
        api_key_blocks(stores)
    };
    blocks.extend(key_blocks);
    super::warnings::tell(stores);
    let all_usable = !rows.is_empty() || !key_rows.is_empty();
    let all_usable = all_usable && rows.iter().all(|r| r.usable);
    // A check that could not reach MiniMax is transient (exit 4), unless
    // something else needs attention.
    let code = match (all_usable, unreachable) {
        (false, _) => 1,
        (true, true) => 4,
        (true, false) => 0,
    };

    if json {
        print_json(&StatusOutput {
            profiles: rows,
            api_keys: key_rows,
            default_profile: default.as_str().to_string(),
            store_mode: stores.mode(),
            keyring_backend: stores.keyring_backend().to_string(),
            kernel_cache: stores.kernel_cache_state(),
            state_home: stores.home().to_path_buf(),
            warnings: stores
                .warnings()
                .iter()
                .filter(|w| w.is_about_stores())
                .map(ToString::to_string)
                .collect(),
        })?;
        return Ok(code);
    }
    let text = render(&blocks, &default);
    if code == 0 {
        print_stdout(&text)?;
    } else {
        say!("{}", text.trim_end());
    }
    keyring_note(stores);
    Ok(code)
}

/// The blocks for people, or how to sign in when there are none; fitted
/// to the terminal.
fn render(blocks: &[String], default: &ProfileName) -> String {
    let mut text = blocks.join("\n");
    if blocks.is_empty() {
        text = format!(
            "You are not signed in to MiniMax.\n  fix: {}\n",
            fix::login(default, None)
        );
    }
    fit(&text, crate::ui::width())
}

/// A note, on stderr, when no keyring answered (unless this run's warning
/// just said so). Only then: other warnings are not the keyring's doing.
fn keyring_note(stores: &Stores) {
    let keyring_down = stores
        .warnings()
        .iter()
        .any(|w| matches!(w, Warning::KeyringDown { .. }));
    if keyring_down && !super::warnings::fallback_announced() {
        crate::ui::tell(&format!(
            "\nnote: no OS keyring answered; profiles are kept in 0600 files in {}\n  \
             (`minimax-portal-auth doctor` says why)",
            stores.home().display()
        ));
    }
}

/// The block and JSON row of one profile; None for an implicit name with
/// nothing stored.
fn profile_block(
    stores: &Stores,
    name: &ProfileName,
    args: &StatusArgs,
    explicit: bool,
    default: &ProfileName,
    unreachable: &mut bool,
) -> Result<Option<(StatusRow, String)>> {
    let is_default = name == default;
    let row = blank_row(name, is_default);
    let title = if is_default {
        format!("{} (default)\n", name.profile_id())
    } else {
        format!("{}\n", name.profile_id())
    };
    let loaded = match stores.load(name) {
        Ok(Some(loaded)) => loaded,
        Ok(None) if !explicit => return Ok(None),
        Ok(None) => return Ok(Some(missing_block(row, title, name))),
        Err(e) => return Ok(Some(unreadable_block(row, title, &e))),
    };
    let block = loaded_block(stores, name, args, row, title, loaded, unreachable);
    Ok(Some(block))
}

/// The row of a profile before anything is known of it (each block sets
/// its state).
fn blank_row(name: &ProfileName, is_default: bool) -> StatusRow {
    StatusRow {
        profile_id: name.profile_id(),
        name: name.as_str().to_string(),
        provider: crate::profile::PROVIDER.to_string(),
        region: None,
        expires: None,
        expires_in_seconds: None,
        state: ProfileState::Missing,
        usable: false,
        default: is_default,
        store: None,
        base_url: None,
        group: None,
        message: None,
        fix: None,
        check: None,
    }
}

/// A profile named with -p that is not stored.
fn missing_block(mut row: StatusRow, title: String, name: &ProfileName) -> (StatusRow, String) {
    row.state = ProfileState::Missing;
    row.fix = Some(fix::login(name, None));
    let lines = format!(
        "{title}  ✗ Not signed in\n    fix: {}\n",
        fix::login(name, None)
    );
    (row, lines)
}

/// A profile that could not be read, or whose store did not answer.
fn unreadable_block(mut row: StatusRow, title: String, e: &Error) -> (StatusRow, String) {
    row.state = match e.class {
        Class::StoreUnavailable => ProfileState::StoreUnavailable,
        _ => ProfileState::Unreadable,
    };
    row.message = Some(e.message.clone());
    row.fix = e.fix.clone();
    let mut lines = format!("{title}  ✗ {}\n", e.message);
    if let Some(fix) = &e.fix {
        lines.push_str(&format!("    fix: {fix}\n"));
    } else if let Some(hint) = &e.hint {
        lines.push_str(&format!("    {hint}\n"));
    }
    (row, lines)
}

/// A stored profile: where it is signed in, how long its access token has
/// (with --check, whether MiniMax takes it), where it is kept.
fn loaded_block(
    stores: &Stores,
    name: &ProfileName,
    args: &StatusArgs,
    mut row: StatusRow,
    title: String,
    loaded: Loaded,
    unreachable: &mut bool,
) -> (StatusRow, String) {
    let store = loaded.stored.store;
    let profile = loaded.profile;
    let left = profile.expires_in_ms(now_ms());
    row.state = state_of(&profile, left, args.margin.duration());
    row.usable = !profile.needs_login;
    row.region = Some(profile.region);
    row.expires = Some(profile.expires);
    row.expires_in_seconds = Some(left / 1000);
    row.store = Some(store);
    row.base_url = Some(profile.base_url.to_string());
    row.group = group_of(&profile);

    // The first line says the state, as `gh auth status` does.
    let mut lines = title;
    if profile.needs_login {
        lines.push_str(&format!(
            "  ✗ Must sign in again to MiniMax {}: MiniMax rejected its refresh token\n",
            profile.region.label()
        ));
    } else {
        lines.push_str(&format!(
            "  ✓ Signed in to MiniMax {}\n",
            profile.region.label()
        ));
    }
    lines.push_str(&token_state_lines(&mut row, name, &profile, left));
    if args.check && row.usable {
        let (check, failed) = online_check_lines(&mut row, stores, name, &profile, args);
        lines.push_str(&check);
        *unreachable |= failed == Some(Class::Transient);
    }
    lines.push_str(&format!("  - Store: {}\n", stores.describe(store, name)));
    let token = profile.access.secret();
    let shown = if args.show_token {
        token.clone()
    } else {
        mask(token)
    };
    lines.push_str(&format!("  - Token: {shown}\n"));
    if let Some(group) = &row.group {
        lines.push_str(&format!("  - Group: {group}\n"));
    }
    (row, lines)
}

/// needs_login, expired, expiring (less than `margin` left) or valid.
fn state_of(profile: &Profile, left_ms: i64, margin: std::time::Duration) -> ProfileState {
    let margin_ms = i64::try_from(margin.as_millis()).unwrap_or(i64::MAX);
    if profile.needs_login {
        ProfileState::NeedsLogin
    } else if left_ms <= 0 {
        ProfileState::Expired
    } else if left_ms < margin_ms {
        ProfileState::Expiring
    } else {
        ProfileState::Valid
    }
}

/// What the row's state means for the access token, with the fix when a
/// new login is needed (also set in the row).
fn token_state_lines(
    row: &mut StatusRow,
    name: &ProfileName,
    profile: &Profile,
    left: i64,
) -> String {
    match row.state {
        ProfileState::NeedsLogin => {
            let fix = fix::login(name, Some(profile.region));
            let access = if left > 0 {
                format!("still works for {}", duration(left))
            } else {
                format!("expired {} ago", duration(left.saturating_neg()))
            };
            let lines = format!("    fix: {fix}\n  - Access token {access}\n");
            row.fix = Some(fix);
            lines
        }
        ProfileState::Expired => format!(
            "  ✓ Access token expired {} ago; refreshed on next use\n",
            duration(left.saturating_neg())
        ),
        ProfileState::Expiring => format!(
            "  ✓ Access token valid for {}; refreshed on next use\n",
            duration(left)
        ),
        _ => format!(
            "  ✓ Access token valid for {}; refreshes automatically\n",
            duration(left)
        ),
    }
}

/// `--check`'s line, and what to do when it failed: sign in again only
/// when the grant was rejected; check the network when MiniMax could not be
/// reached. Returns the lines and the class of a failure.
fn online_check_lines(
    row: &mut StatusRow,
    stores: &Stores,
    name: &ProfileName,
    profile: &Profile,
    args: &StatusArgs,
) -> (String, Option<Class>) {
    let (detail, failure) = match check_online(stores, name, profile, args) {
        Ok(detail) => {
            row.check = Some(detail.clone());
            return (format!("  ✓ {detail}\n"), None);
        }
        Err(failure) => failure,
    };
    let mut lines = format!("  ✗ {detail}\n");
    let next = match failure.class {
        Class::NeedsLogin => Some(
            failure
                .fix
                .unwrap_or_else(|| fix::login(name, Some(profile.region))),
        ),
        Class::Transient => {
            lines.push_str(
                "    check the network (or HTTPS_PROXY) and try again; the profile is untouched\n",
            );
            None
        }
        _ => failure.fix,
    };
    if let Some(hint) = failure.hint.filter(|_| failure.class != Class::Transient) {
        lines.push_str(&format!("    {hint}\n"));
    }
    if let Some(fix) = next {
        lines.push_str(&format!("    fix: {fix}\n"));
        row.fix = Some(fix);
    }
    if failure.class != Class::Transient {
        row.usable = false;
    }
    row.check = Some(detail);
    (lines, Some(failure.class))
}

/// `--check`: a refresh when one is due, else one cheap authenticated
/// call. Ok with what was proven, or what failed and the error.
fn check_online(
    stores: &Stores,
    name: &ProfileName,
    profile: &Profile,
    args: &StatusArgs,
) -> std::result::Result<String, (String, Error)> {
    let want = Want {
        margin: args.margin.duration(),
        force: false,
        on_failure: OnFailure::Fail,
    };
    let unreachable = |e: Error| (format!("Could not check online: {}", e.message), e);
    match session::ensure_fresh(stores, &HttpRefresher, name, &want) {
        Ok(fresh) if fresh.outcome != Outcome::StillValid => Ok(format!(
            "Checked online: {}",
            fresh.outcome.as_str().replace('_', " ")
        )),
        Ok(_) => {
            let accepted = profile.region.api_base().and_then(|api_base| {
                crate::portal::usage::accepts_blocking(
                    &api_base,
                    profile.access.secret(),
                    "the access token",
                )
            });
            match accepted {
                Ok(true) => Ok("Checked online: MiniMax accepts the access token".into()),
                // The access token is refused, not the grant: a refresh
                // gets a new one.
                Ok(false) => Err((
                    "Checked online: MiniMax refuses the access token".into(),
                    Error::failed("refused").with_fix(format!(
                        "minimax-portal-auth refresh --force{}",
                        fix::profile_flag(name)
                    )),
                )),
                Err(e) => Err(unreachable(e)),
            }
        }
        Err(e) => Err(unreachable(e)),
    }
}

/// The account's group id, when the access token is a JWT that carries
/// one. Only that claim is read; nothing of the token is shown.
fn group_of(profile: &Profile) -> Option<String> {
    use base64::Engine;
    let token = profile.access.secret();
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    ["group_id", "GroupID", "groupId", "group"]
        .iter()
        .find_map(|k| match &claims[k] {
            Value::String(s) => Some(crate::redact::clean(s, 40)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// API-key profiles (`login --with-api-key`): listed, never printed.
fn api_key_blocks(stores: &Stores) -> (Vec<ApiKeyRow>, Vec<String>) {
    let Ok(key_stores) = Stores::open_api_keys(stores.mode(), stores.home()) else {
        return (Vec::new(), Vec::new());
    };
    let Ok(names) = key_stores.names() else {
        return (Vec::new(), Vec::new());
    };
    let mut rows = Vec::new();
    let mut blocks = Vec::new();
    for name in names {
        let Ok(Some(stored)) = key_stores.read(&name) else {
            continue;
        };
        let region = serde_json::from_slice::<ApiKeyProfile>(&stored.bytes)
            .ok()
            .map(|p| p.region);
        let profile_id = name.api_key_id();
        blocks.push(format!(
            "{profile_id} (API key)\n  ✓ MiniMax {}\n  - Store: {}\n",
            region.map_or("?", |r| r.label()),
            key_stores.describe(stored.store, &name)
        ));
        rows.push(ApiKeyRow {
            profile_id,
            region,
            store: stored.store,
        });
    }
    super::warnings::tell(&key_stores);
    (rows, blocks)
}
