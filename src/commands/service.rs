//! The watcher as a user service (`openclaw setup --service`): a systemd
//! user unit, or on macOS a launchd agent. A service starts with almost no
//! environment, so the unit carries what the watcher and OpenClaw need: the
//! state folder, a PATH that finds the `node` OpenClaw runs on (nvm, volta
//! and asdf put it in folders of their own), and the `OPENCLAW_*` variables
//! of the shell that ran the setup. Every value is quoted for the format it
//! goes into; one that cannot be carried safely is refused.

use crate::error::{Error, Result};
use crate::safe_fs::{self, shell_quote};
use crate::store::Stores;
use std::path::{Path, PathBuf};

pub const SERVICE_NAME: &str = "minimax-portal-auth-watch.service";
const LAUNCHD_LABEL: &str = "io.minimax-portal-auth.watch";

pub struct Service {
    pub path: PathBuf,
    pub enable: String,
}

pub fn service_path() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        let home = std::env::var_os("HOME")?;
        return Some(
            PathBuf::from(home).join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")),
        );
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("systemd/user").join(SERVICE_NAME))
}

/// Writes the service file. Its folder is created 0700 whatever the umask
/// (the file may hold `OPENCLAW_*` secrets, and a group-writable folder
/// would be refused).
pub fn write_service(stores: &Stores, binary: &Path, openclaw: &Path) -> Result<Service> {
    if crate::openclaw::Os::CURRENT == crate::openclaw::Os::Windows {
        // Without this, a HOME set by Git Bash would get a systemd unit.
        return Err(Error::usage(
            "--service writes a systemd user unit or a launchd agent; Windows has neither",
        )
        .with_fix(
            "minimax-portal-auth refresh --watch --all --then openclaw secrets reload   \
             # at logon, e.g. from Task Scheduler",
        ));
    }
    let path = service_path()
        .ok_or_else(|| Error::failed("cannot find where user services live (no HOME)"))?;
    let env = service_env(stores, openclaw)?;
    let resolved = crate::paths::real_path(openclaw).unwrap_or(openclaw.to_path_buf());
    let args: Vec<String> = [
        binary.display().to_string(),
        "refresh".into(),
        "--watch".into(),
        "--all".into(),
        "--then".into(),
        resolved.display().to_string(),
        "secrets".into(),
        "reload".into(),
    ]
    .into();
    let (text, enable) = if cfg!(target_os = "macos") {
        (
            launchd_plist(&args, &env)?,
            format!(
                "launchctl load -w {}",
                shell_quote(&path.display().to_string())
            ),
        )
    } else {
        (
            systemd_unit(&args, &env)?,
            format!(
                "systemctl --user daemon-reload && systemctl --user enable --now {SERVICE_NAME}"
            ),
        )
    };
    // write_atomically creates missing folders 0700 (not 0777 less umask).
    safe_fs::write_atomically(&path, text.as_bytes())?;
    Ok(Service { path, enable })
}

/// The service's environment: the state folder, PATH, and this shell's
/// `OPENCLAW_*` variables.
fn service_env(stores: &Stores, openclaw: &Path) -> Result<Vec<(String, String)>> {
    let home = crate::paths::real_path(stores.home()).unwrap_or(stores.home().to_path_buf());
    let mut env = vec![
        (safe_fs::HOME_ENV.to_string(), home.display().to_string()),
        ("PATH".to_string(), service_path_var(openclaw)),
    ];
    let mut openclaw_vars: Vec<(String, String)> = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("OPENCLAW_")) else {
            continue;
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.into_string().map_err(|_| {
            Error::failed(format!(
                "{name} is not valid UTF-8, so the service unit cannot carry it"
            ))
        })?;
        openclaw_vars.push((name.to_string(), value));
    }
    openclaw_vars.sort();
    env.extend(openclaw_vars);
    Ok(env)
}

/// A PATH for the service: the folders that hold the `node` OpenClaw runs
/// on, then this shell's PATH without relative or odd entries (a service
/// has no current folder worth trusting).
fn service_path_var(openclaw: &Path) -> String {
    let current: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let mut dirs: Vec<PathBuf> = node_dirs(openclaw, &current);
    dirs.extend(current);
    let mut kept: Vec<String> = Vec::new();
    for dir in dirs {
        let Some(text) = dir.to_str() else { continue };
        let plain = dir.is_absolute() && !text.contains(':') && !text.chars().any(char::is_control);
        if plain && !kept.iter().any(|k| k == text) {
            kept.push(text.to_string());
        }
    }
    if kept.is_empty() {
        return "/usr/local/bin:/usr/bin:/bin".to_string();
    }
    kept.join(":")
}

/// Where the `node` that runs OpenClaw lives: the interpreter its script
/// names, a `node` beside the `openclaw` command (nvm's layout), or the
/// first `node` on PATH (what `#!/usr/bin/env node` finds).
fn node_dirs(openclaw: &Path, path: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let resolved = crate::paths::real_path(openclaw).unwrap_or(openclaw.to_path_buf());
    if let Some(interpreter) = shebang_interpreter(&resolved)
        .filter(|i| {
            i.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("node"))
        })
        .and_then(|i| i.parent().map(Path::to_path_buf))
    {
        dirs.push(interpreter);
    }
    for dir in [openclaw.parent(), resolved.parent()].into_iter().flatten() {
        if dir.join("node").is_file() {
            dirs.push(dir.to_path_buf());
        }
    }
    if let Some(dir) = path
        .iter()
        .find(|d| d.is_absolute() && d.join("node").is_file())
    {
        dirs.push(dir.clone());
    }
    dirs
}

/// The interpreter a script's `#!` line names directly (not through
/// `env`), read from its first bytes only.
fn shebang_interpreter(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let mut file = std::fs::File::open(script).ok()?;
    let n = file.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?.lines().next()?;
    let first = line.strip_prefix("#!")?.split_whitespace().next()?;
    let interpreter = PathBuf::from(first);
    (interpreter.is_absolute() && interpreter.file_name()? != "env").then_some(interpreter)
}

/// A value the service file may carry: no control characters (a line
/// break would start a new directive).
fn check_value(what: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(Error::failed(format!(
            "{what} holds a line break or another control character, which the service \
             file cannot carry safely"
        ))
        .with_hint(format!("fix or unset {what}, then run the setup again")));
    }
    Ok(())
}

/// A word for systemd: double-quoted, `\` and `"` escaped, `%` doubled
/// (specifiers), and in a command line `$` doubled (variable expansion).
fn systemd_quote(value: &str, in_command: bool) -> String {
    let mut quoted = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    if in_command {
        quoted = quoted.replace('$', "$$");
    }
    format!("\"{quoted}\"")
}

fn systemd_unit(args: &[String], env: &[(String, String)]) -> Result<String> {
    let mut exec = Vec::new();
    for arg in args {
        check_value("the command line", arg)?;
        exec.push(systemd_quote(arg, true));
    }
    let mut environment = String::new();
    for (name, value) in env {
        check_value(name, value)?;
        let assignment = format!("{name}={value}");
        environment.push_str(&format!(
            "Environment={}\n",
            systemd_quote(&assignment, false)
        ));
    }
    Ok(format!(
        "[Unit]\n\
         Description=Keep MiniMax tokens fresh for OpenClaw (minimax-portal-auth)\n\n\
         [Service]\n\
         ExecStart={}\n\
         {environment}\
         Restart=on-failure\n\
         RestartSec=30\n\
         # Exit 3: no profile is left that works; restarting cannot help.\n\
         RestartPreventExitStatus=3\n\n\
         [Install]\n\
         WantedBy=default.target\n",
        exec.join(" "),
    ))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn launchd_plist(args: &[String], env: &[(String, String)]) -> Result<String> {
    let mut items = String::new();
    for arg in args {
        check_value("the command line", arg)?;
        items.push_str(&format!("    <string>{}</string>\n", xml_escape(arg)));
    }
    let mut vars = String::new();
    for (name, value) in env {
        check_value(name, value)?;
        vars.push_str(&format!(
            "    <key>{}</key><string>{}</string>\n",
            xml_escape(name),
            xml_escape(value)
        ));
    }
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
           <key>Label</key><string>{LAUNCHD_LABEL}</string>\n\
           <key>ProgramArguments</key>\n  <array>\n{items}  </array>\n\
           <key>EnvironmentVariables</key>\n  <dict>\n{vars}  </dict>\n\
           <key>RunAtLoad</key><true/>\n\
           <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>\n\
         </dict>\n</plist>\n",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_unit_quotes_every_value_for_systemd() {
        let args = vec![
            "/opt/100% $HOME/bin \"x\"".to_string(),
            "refresh".to_string(),
        ];
        let env = pairs(&[
            ("PATH", "/home/u/.nvm/versions/node/v24/bin:/usr/bin"),
            ("OPENCLAW_STATE_DIR", "/srv/a\"b\\c%d$e"),
        ]);
        let unit = systemd_unit(&args, &env).unwrap();
        assert!(
            unit.contains("ExecStart=\"/opt/100%% $$HOME/bin \\\"x\\\"\" \"refresh\"\n"),
            "{unit}"
        );
        assert!(
            unit.contains("Environment=\"PATH=/home/u/.nvm/versions/node/v24/bin:/usr/bin\"\n")
        );
        assert!(unit.contains("Environment=\"OPENCLAW_STATE_DIR=/srv/a\\\"b\\\\c%%d$e\"\n"));
        // Every line is a section, a directive, a comment or blank.
        for line in unit.lines() {
            assert!(
                line.is_empty()
                    || line.starts_with('[')
                    || line.starts_with('#')
                    || line.contains('='),
                "{line}"
            );
        }
    }

    #[test]
    fn a_value_with_a_line_break_is_refused() {
        let args = vec!["/bin/x".to_string()];
        for bad in ["a\nExecStartPre=/bin/evil", "a\rb", "a\u{0}b"] {
            let env = pairs(&[("OPENCLAW_X", bad)]);
            let unit = systemd_unit(&args, &env).unwrap_err();
            assert!(unit.message.contains("OPENCLAW_X"), "{}", unit.message);
            assert!(launchd_plist(&args, &env).is_err());
        }
        assert!(systemd_unit(&["/bin/x\n".to_string()], &[]).is_err());
    }

    #[test]
    fn the_plist_escapes_xml() {
        let args = vec!["/opt/a&b<c>".to_string()];
        let env = pairs(&[("OPENCLAW_X", "</string><key>evil</key>\"'")]);
        let plist = launchd_plist(&args, &env).unwrap();
        assert!(plist.contains("<string>/opt/a&amp;b&lt;c&gt;</string>"));
        assert!(plist.contains(
            "<key>OPENCLAW_X</key><string>&lt;/string&gt;&lt;key&gt;evil&lt;/key&gt;&quot;&apos;</string>"
        ));
        assert!(!plist.contains("<key>evil</key>"));
    }

    #[test]
    fn node_is_found_beside_openclaw_or_named_by_its_script() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("node/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("node"), "").unwrap();
        std::fs::write(bin.join("openclaw"), "#!/usr/bin/env node\n").unwrap();
        let dirs = node_dirs(&bin.join("openclaw"), &[PathBuf::from("rel"), bin.clone()]);
        assert_eq!(dirs.first(), Some(&bin));
        let interpreter = dir.path().join("script");
        std::fs::write(&interpreter, "#!/opt/node24/bin/node --flag\n").unwrap();
        assert_eq!(
            shebang_interpreter(&interpreter),
            Some(PathBuf::from("/opt/node24/bin/node"))
        );
    }
}
