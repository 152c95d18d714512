//! What both OpenClaw routes (`commands/openclaw.rs`, the exec route, and
//! `commands/openclaw_plugin.rs`, the plugin route) do to OpenClaw the same
//! way: change its config through its own CLI (a patch checked with
//! --dry-run, removal edits under its size guard, validation), keep the
//! patch for the user, and find this binary as OpenClaw will run it. Apart
//! from both so that neither route imports the other's internals.

use crate::error::{Error, Result};
use crate::openclaw::{self, Edit, OpenClaw};
use crate::safe_fs::{self, shell_quote};
use crate::store::Stores;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Applies the patch (checked first with --dry-run) unless OpenClaw's
/// config holds it already; true when it did.
pub fn apply_setup(openclaw: &OpenClaw, patch: &Value, patch_file: &Path) -> Result<bool> {
    let already = openclaw
        .config()
        .is_some_and(|config| openclaw::contains(&config, patch));
    if already {
        say!("OpenClaw's config already holds this setup; nothing to change.");
        return Ok(true);
    }
    say!("Checking the patch with `openclaw config patch --dry-run`…");
    expect_ok(
        openclaw,
        &[
            "config",
            "patch",
            "--file",
            &path_arg(patch_file),
            "--dry-run",
        ],
    )?;
    say!("Applying it with `openclaw config patch`…");
    expect_ok(
        openclaw,
        &["config", "patch", "--file", &path_arg(patch_file)],
    )?;
    Ok(false)
}

/// Applies removal edits in one patch, or, when OpenClaw's size guard still
/// refuses it ("size-drop"), in halves. Returns how many patches it took.
pub fn apply_edits(
    stores: &Stores,
    openclaw: &OpenClaw,
    provider: &str,
    edits: &[Edit],
) -> Result<usize> {
    let combined = openclaw::combine(edits);
    let file = save_patch(stores, provider, "remove", &combined.patch)?;
    let mut args = vec![
        "config".to_string(),
        "patch".into(),
        "--file".into(),
        path_arg(&file),
    ];
    if let Some((path, _)) = &combined.replace {
        args.extend(["--replace-path".to_string(), path.clone()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = openclaw.run(&refs)?;
    if out.ok {
        return Ok(1);
    }
    let said = out.said();
    if said.contains("size-drop") && edits.len() > 1 {
        let (first, second) = edits.split_at(edits.len() / 2);
        return Ok(apply_edits(stores, openclaw, provider, first)?
            + apply_edits(stores, openclaw, provider, second)?);
    }
    Err(
        Error::failed(format!("openclaw config patch failed:\n    {said}"))
            .with_fix(patch_command(&file, &combined)),
    )
}

pub fn patch_command(file: &Path, edit: &Edit) -> String {
    let mut command = format!(
        "openclaw config patch --file {}",
        shell_quote(&file.display().to_string())
    );
    if let Some((path, _)) = &edit.replace {
        command.push_str(&format!(" --replace-path {}", shell_quote(path)));
    }
    command
}

/// The JSON object in a command's output (OpenClaw may print a banner first).
pub fn json_in(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    serde_json::from_str(&text[start..]).ok()
}

pub fn expect_ok(openclaw: &OpenClaw, args: &[&str]) -> Result<()> {
    let out = openclaw.run(args)?;
    if out.ok {
        return Ok(());
    }
    Err(Error::failed(format!(
        "openclaw {} failed (exit {}):\n    {}",
        args[..2].join(" "),
        out.code.map_or("?".to_string(), |c| c.to_string()),
        out.said()
    )))
}

pub fn validate(openclaw: &OpenClaw) -> Result<()> {
    let out = openclaw.run(&["config", "validate", "--json"])?;
    let verdict = json_in(&out.stdout);
    if out.ok && verdict.as_ref().is_some_and(|v| v["valid"] == true) {
        return Ok(());
    }
    let issues = verdict
        .and_then(|v| v.get("issues").cloned())
        .map(|i| i.to_string())
        .unwrap_or_else(|| out.said());
    Err(Error::failed(format!(
        "OpenClaw's config does not validate after the change: {}",
        crate::redact::clean(&issues, 800)
    ))
    .with_hint("run `openclaw config validate` to see why"))
}

/// Saves a patch (no secrets in it) in the state folder, for OpenClaw to read
/// and for the user to apply by hand.
pub fn save_patch(stores: &Stores, provider: &str, what: &str, patch: &Value) -> Result<PathBuf> {
    let path = stores
        .home()
        .join("openclaw")
        .join(format!("{provider}.{what}.json"));
    let text = serde_json::to_vec_pretty(patch)
        .map_err(|e| Error::failed(format!("cannot encode the patch: {e}")))?;
    safe_fs::write_atomically(&path, &text)?;
    Ok(path)
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// This binary's real path, as OpenClaw will run it: it refuses a symlink,
/// a file another user owns, or one others may write to.
pub fn this_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .and_then(|exe| crate::paths::real_path(&exe))
        .map_err(|e| Error::failed(format!("cannot find this program's own path: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta =
            std::fs::symlink_metadata(&exe).map_err(|e| safe_fs::io_error("inspect", &exe, e))?;
        let quoted = shell_quote(&exe.display().to_string());
        let refuse = |why: String, fix: String| {
            Err(Error::failed(format!(
                "OpenClaw refuses to run {} as a secret command: {why}",
                exe.display()
            ))
            .with_fix(fix))
        };
        if meta.file_type().is_symlink() {
            return refuse(
                "it is a symbolic link".into(),
                format!("cp --remove-destination \"$(readlink -f {quoted})\" {quoted}"),
            );
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return refuse(
                format!("it belongs to user id {}, not to you", meta.uid()),
                "cargo install --path . --locked   # a copy of your own, then run its openclaw setup"
                    .to_string(),
            );
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return refuse(
                "others may write to it".into(),
                format!("chmod go-w {quoted}"),
            );
        }
    }
    Ok(exe)
}
