//! Every command and flag, in one place, and the one list of environment
//! variables that the help is generated from.

use crate::profile::ProfileName;
use crate::region::Region;
use crate::store::StoreMode;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Every environment variable the tool reads, with what it does: the help
/// (`--help`), the man page and README.md's table say the same.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "MINIMAX_PORTAL_AUTH_PROFILE",
        "the default profile (else `switch`'s choice, else default)",
    ),
    (
        "MINIMAX_PORTAL_REGION",
        "global | cn, in any case: the region `login` uses without --region",
    ),
    (
        "MINIMAX_PORTAL_AUTH_STORE",
        "auto | keyring | file (same as --store; also `store` in config.toml)",
    ),
    (
        "MINIMAX_PORTAL_AUTH_HOME",
        "the state folder: locks, file store, index, settings",
    ),
    (
        "MINIMAX_PORTAL_AUTH_MARGIN_SECS",
        "refresh when fewer seconds are left (default 300)",
    ),
    (
        "MINIMAX_PORTAL_OAUTH_BASE_URL",
        "replaces both regions' OAuth base (http:// only for loopback)",
    ),
    (
        "MINIMAX_PORTAL_API_BASE_URL",
        "replaces both regions' API base",
    ),
    (
        "MINIMAX_PORTAL_AUTHORIZE_URL",
        "authorize page of --flow browser (default: OAuth base + /oauth2/authorize)",
    ),
    (
        "MINIMAX_PORTAL_CLIENT_ID",
        "the OAuth client id (default: MiniMax's; for another standard server)",
    ),
    (
        "MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS",
        "bound on each keyring call (default 5000)",
    ),
    (
        "MINIMAX_PORTAL_AUTH_KERNEL_CACHE",
        "0 turns off the kernel keyring cache in front of the Secret Service (Linux)",
    ),
    (
        "MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS",
        "bound on each portal request (default 30000)",
    ),
    (
        "MINIMAX_PORTAL_AUTH_LOCK_TIMEOUT_MS",
        "bound on waiting for another process's refresh (default 60000)",
    ),
    ("HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE", "as usual"),
];

/// The exit codes of the contract.
pub const EXIT_CODES: &[(i32, &str)] = &[
    (0, "ok"),
    (1, "failed (the message says why and what to do)"),
    (
        2,
        "usage error (bad flag, bad profile name, no --region without a terminal)",
    ),
    (
        3,
        "sign in again: no profile, or the refresh token was rejected",
    ),
    (
        4,
        "transient: network, 5xx, 429 or timeout; try later (profile untouched)",
    ),
    (
        5,
        "the keyring is locked or not reachable (unlock it, or use --store file)",
    ),
    (130, "cancelled (Ctrl-C)"),
];

fn after_help() -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("  {code:<4} {meaning}\n"));
    }
    text.push_str("\nEnvironment:\n");
    for (name, meaning) in ENVIRONMENT {
        text.push_str(&format!("  {name}\n      {meaning}\n"));
    }
    text.push_str("\nMore: README.md, or `minimax-portal-auth man`.");
    text
}

#[derive(Debug, Parser)]
#[command(
    name = "minimax-portal-auth",
    version,
    about = "Use MiniMax models on your Coding Plan: sign in once, tokens kept fresh",
    long_about = "Sign in to the MiniMax portal (Global: api.minimax.io, CN: api.minimaxi.com) \
with OAuth, keep the tokens in the OS keyring as an auth profile, and keep them fresh for what \
uses them: OpenClaw (`openclaw setup`), Anthropic-compatible tools (`exec`, `env`), and hosts \
that run plugins through plugin.toml.\n\n\
Results go to stdout; messages, warnings and progress to stderr. With --json each command \
prints one JSON object on stdout. A token is printed only by `token`, `env` and \
`status --show-token`, never in arguments, logs or error messages.\n\n\
Examples:\n  minimax-portal-auth login\n  minimax-portal-auth status\n  \
minimax-portal-auth openclaw setup --set-default\n  minimax-portal-auth exec -- claude",
    after_help = after_help(),
    propagate_version = true
)]
pub struct Cli {
    /// Print one JSON object on stdout for programs (messages stay on stderr)
    #[arg(long, global = true)]
    pub json: bool,

    /// Where profiles are kept: the OS keyring, a 0600 file, or auto (the
    /// keyring, else the file, with a warning the first time); default:
    /// MINIMAX_PORTAL_AUTH_STORE, else `store` in config.toml, else auto
    // The variable is read in settings::store_mode, not by clap: a bad value
    // is then named as the variable, and usage lines do not show --store.
    #[arg(long, global = true, value_enum, ignore_case = true)]
    pub store: Option<StoreMode>,

    #[command(subcommand)]
    pub command: Command,
}

/// The command tree as parsed, helped, completed and written in the man
/// page: the global --json and --store are hidden where a command has no
/// use for them (still accepted, so a script that passes them works).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // A command that defines an argument of a global's id does not get the
    // global: a hidden one that is accepted and unused takes its place.
    let hidden = |names: &'static [&'static str]| {
        move |mut sub: clap::Command| {
            for name in names {
                let arg = clap::Arg::new(*name).long(*name).hide(true);
                sub = sub.arg(match *name {
                    "json" => arg.action(clap::ArgAction::SetTrue),
                    _ => arg.value_name("STORE"),
                });
            }
            sub
        }
    };
    Cli::command()
        .mut_subcommand("exec", hidden(&["json"]))
        .mut_subcommand("completions", hidden(&["json", "store"]))
        .mut_subcommand("man", hidden(&["json", "store"]))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to MiniMax with a link and a code, and save the profile
    #[command(long_about = "Sign in to MiniMax and save the profile.\n\n\
Asks which region your account is on (unless --region or MINIMAX_PORTAL_REGION says), prints a \
link and a code, opens the browser (unless --no-browser or a remote session, where --qr shows a \
QR code for a phone), and waits until you approve the code on MiniMax's page. A failed or \
cancelled login leaves an existing profile as it was; on a terminal, replacing one is asked \
first.\n\n\
Examples:\n  minimax-portal-auth login\n  \
minimax-portal-auth login -r cn -p work --no-browser\n  \
minimax-portal-auth login -r global --json    # a host's config patch\n  \
printf '%s' \"$KEY\" | minimax-portal-auth login -r global --with-api-key")]
    Login(LoginArgs),

    /// Print a valid access token (refreshed first when due) and nothing else
    #[command(
        long_about = "Print a profile's access token on stdout and nothing else, \
refreshing it first when less than the margin is left (one refresh across all processes).\n\n\
Examples:\n  TOKEN=$(minimax-portal-auth token)\n  minimax-portal-auth token -p work --json"
    )]
    Token(TokenArgs),

    /// Refresh what is due; with --watch, keep refreshing (for Gateways)
    #[command(
        long_about = "Refresh the profiles that are due (less than the margin left), or \
all with --force. One report per profile; the exit code is the worst outcome. With nothing due it \
makes no network request. This is the start-up hook of hosts that run plugins.\n\n\
With --watch it stays in the foreground and refreshes each profile before it expires, running \
the --then command after each refresh: for a host that reads the token once, such as an \
OpenClaw Gateway. SIGTERM or Ctrl-C end it (exit 0), stopping a running --then; a profile \
that needs a new login is dropped and the others kept fresh (exit 3 once none is left).\n\n\
Examples:\n  minimax-portal-auth refresh\n  minimax-portal-auth refresh -p work --force\n  \
minimax-portal-auth refresh --watch --then openclaw secrets reload"
    )]
    Refresh(RefreshArgs),

    /// Show your profiles: region, store, time left, what to do
    #[command(
        long_about = "Show each profile: its region, where it is stored, how long the \
access token has left and whether it refreshes automatically, or the command that fixes it. \
Exit 1 if any profile needs attention (or none exists).\n\n\
Examples:\n  minimax-portal-auth status\n  minimax-portal-auth status --check   \
# prove it online\n  minimax-portal-auth status -p work --json"
    )]
    Status(StatusArgs),

    /// Make a profile the default one
    #[command(
        long_about = "Make a profile the one commands use without -p (remembered in the \
state folder; MINIMAX_PORTAL_AUTH_PROFILE overrides it).\n\n\
Examples:\n  minimax-portal-auth switch work\n  minimax-portal-auth switch default"
    )]
    Switch(SwitchArgs),

    /// Remove a profile from the store
    #[command(
        long_about = "Remove a profile from every place the store mode uses (keyring, \
file, recovery file, leftovers).\n\n\
Examples:\n  minimax-portal-auth logout\n  minimax-portal-auth logout -p work\n  \
minimax-portal-auth logout --all"
    )]
    Logout(LogoutArgs),

    /// Run a command with a fresh token for Anthropic-compatible tools
    #[command(
        long_about = "Run CMD with ANTHROPIC_BASE_URL (the profile's model base URL) and \
ANTHROPIC_AUTH_TOKEN (a fresh access token, refreshed first when due) in its environment. CMD \
replaces this process: its input, output, signals and exit code are its own.\n\n\
Examples:\n  minimax-portal-auth exec -- claude\n  \
minimax-portal-auth exec -p work -- curl -s \"$URL\""
    )]
    Exec(ExecArgs),

    /// Print ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN as shell exports
    #[command(
        long_about = "Print the profile's model base URL and a fresh access token as \
lines a shell can evaluate (the token is printed: it is what you asked for).\n\n\
Examples:\n  eval \"$(minimax-portal-auth env)\"\n  \
minimax-portal-auth env --shell fish | source\n  \
minimax-portal-auth env --shell powershell | Invoke-Expression"
    )]
    Env(EnvArgs),

    /// Show the plan's usage per model: left, percent, when it resets
    #[command(
        long_about = "Show what is left of the plan's current window (and the week's) \
per model, and when each resets.\n\n\
Examples:\n  minimax-portal-auth usage\n  minimax-portal-auth usage -p work --json"
    )]
    Usage(UsageArgs),

    /// Check keyring, folder, portal, clock and profiles; say what fixes each
    #[command(
        long_about = "Check the keyring, the state folder, each region's portal that \
holds a profile, the clock, the profiles and (with --host-config) a host's config, and print \
the command that fixes each failure.\n\n\
Examples:\n  minimax-portal-auth doctor\n  \
minimax-portal-auth doctor --host-config ~/.openclaw/openclaw.json"
    )]
    Doctor(DoctorArgs),

    /// Connect a profile to OpenClaw, which refreshes no MiniMax token itself
    #[command(subcommand)]
    Openclaw(OpenclawCommand),

    /// Print a shell completion script
    #[command(long_about = "Print the completion script of a shell on stdout.\n\n\
Examples:\n  minimax-portal-auth completions bash \\\n      > ~/.local/share/bash-completion/completions/minimax-portal-auth\n  \
minimax-portal-auth completions zsh > \"${fpath[1]}/_minimax-portal-auth\"\n  \
minimax-portal-auth completions fish \\\n      > ~/.config/fish/completions/minimax-portal-auth.fish")]
    Completions(CompletionsArgs),

    /// Print the manual page (roff)
    #[command(long_about = "Print the manual page in roff on stdout.\n\n\
Examples:\n  minimax-portal-auth man | man -l -\n  \
minimax-portal-auth man > ~/.local/share/man/man1/minimax-portal-auth.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum OpenclawCommand {
    /// Make OpenClaw get its MiniMax token from this tool, always fresh
    #[command(long_about = "Make OpenClaw get its MiniMax token from this tool.\n\n\
OpenClaw signs in to MiniMax itself but never refreshes the token, so its sessions die at \
expiry. By default (--route plugin) this installs our small OpenClaw plugin, \
minimax-portal-keyring, through `openclaw plugins install`: on every turn it asks this tool for \
the token (refreshed ahead of expiry, one refresh across all processes), and `openclaw onboard \
--auth-choice minimax-portal` signs in through this tool. A running Gateway needs no restart and \
no watcher. With a stored profile it also sets the provider's model base URL and aliases through \
`openclaw config patch`, and with --set-default makes minimax-portal/MiniMax-M3 the default model.\n\n\
--route exec adds instead an exec secret provider that runs `minimax-portal-auth token --profile \
NAME` (no plugin code in OpenClaw); a Gateway reads that once, so keep it fresh with `refresh \
--watch --then openclaw secrets reload` (or --service). There the default profile is OpenClaw's \
provider `minimax-portal` and another profile gets its own provider `minimax-portal-NAME`.\n\n\
Examples:\n  minimax-portal-auth openclaw setup --set-default\n  \
minimax-portal-auth openclaw setup --dry-run   # say what would change\n  \
minimax-portal-auth openclaw setup --route exec --service\n  \
minimax-portal-auth openclaw setup --remove")]
    Setup(OpenclawSetupArgs),

    /// The plugin's question on every turn: the tokens to hand OpenClaw
    #[command(hide = true)]
    Credentials,

    /// The plugin's sign-in for `openclaw onboard --auth-choice minimax-portal`
    #[command(hide = true)]
    Onboard(OpenclawOnboardArgs),
}

/// How OpenClaw gets the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Route {
    /// Our OpenClaw plugin hands OpenClaw the token on every turn
    Plugin,
    /// OpenClaw's exec secret provider runs `token` (no plugin code in
    /// OpenClaw; a Gateway needs the watcher)
    Exec,
}

#[derive(Debug, Args)]
pub struct OpenclawOnboardArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// No terminal: read OpenClaw's config on stdin, print the new one
    #[arg(long)]
    pub non_interactive: bool,
}

#[derive(Debug, Args)]
pub struct OpenclawSetupArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// Also make the profile's default model OpenClaw's default model
    #[arg(long, conflicts_with = "remove")]
    pub set_default: bool,

    /// plugin: our OpenClaw plugin hands OpenClaw the token on every turn;
    /// exec: OpenClaw runs `token` as an exec secret provider
    #[arg(long, value_enum, default_value = "plugin")]
    pub route: Route,

    /// OpenClaw's command (default: `openclaw` on PATH)
    #[arg(long, value_name = "PATH")]
    pub openclaw: Option<PathBuf>,

    /// Print the patch and the command that applies it; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Take the setup out of OpenClaw's config again
    #[arg(long)]
    pub remove: bool,

    /// Also write a systemd user unit (macOS: a launchd agent) that runs the
    /// watcher and reloads OpenClaw's secrets after each refresh
    #[arg(long, conflicts_with = "remove")]
    pub service: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Flow {
    /// The best flow for this portal (today: device)
    Auto,
    /// Confirm a user code in any browser, on this machine or another
    Device,
    /// Authorization code with a redirect to 127.0.0.1 (the browser must run
    /// on this machine; MiniMax has not been seen serving it)
    Browser,
}

/// The profile a command works on.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Profile name: letters, digits, '-' and '_' (profile id
    /// minimax-portal:NAME); default: MINIMAX_PORTAL_AUTH_PROFILE, else the
    /// one `switch` chose, else "default"
    #[arg(short = 'p', long, value_name = "NAME", value_parser = parse_profile, add = profile_names())]
    pub profile: Option<ProfileName>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Global (api.minimax.io) or CN (api.minimaxi.com), in any case; asked
    /// on a terminal when neither this nor MINIMAX_PORTAL_REGION says
    // The variable is read in login.rs, so a bad value names it.
    #[arg(short = 'r', long, value_enum, ignore_case = true)]
    pub region: Option<Region>,

    /// How to sign in
    #[arg(long, value_enum, default_value = "auto")]
    pub flow: Flow,

    /// Do not open a browser; just print the link and the code (--flow browser: and take the address pasted back)
    #[arg(long)]
    pub no_browser: bool,

    /// Also show the link as a QR code (shown anyway in a remote session)
    #[arg(long)]
    pub qr: bool,

    /// Replace an existing profile without asking
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// With --flow browser: the port on 127.0.0.1 the browser comes back
    /// to (default 18991, else any free port)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Store a MiniMax API key instead (read from stdin, or a hidden prompt;
    /// never an argument)
    #[arg(long, conflicts_with_all = ["flow", "no_browser", "qr", "port"])]
    pub with_api_key: bool,

    #[command(flatten)]
    pub profile: ProfileArgs,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    #[command(flatten)]
    pub margin: MarginArgs,
}

#[derive(Debug, Args)]
pub struct MarginArgs {
    /// Refresh when fewer than this many seconds are left
    #[arg(
        long,
        value_name = "SECONDS",
        env = "MINIMAX_PORTAL_AUTH_MARGIN_SECS",
        default_value_t = 300
    )]
    pub margin: u64,
}

impl MarginArgs {
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.margin)
    }
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Only this profile (default: every profile)
    #[arg(short = 'p', long, value_name = "NAME", value_parser = parse_profile, add = profile_names(), conflicts_with = "all")]
    pub profile: Option<ProfileName>,

    /// Every profile (the default)
    #[arg(long)]
    pub all: bool,

    /// Refresh even when not due
    #[arg(long, conflicts_with = "watch")]
    pub force: bool,

    /// Stay in the foreground and refresh each profile the margin before it
    /// expires, until SIGTERM or Ctrl-C
    #[arg(long)]
    pub watch: bool,

    /// With --watch: run this command after each refresh, e.g. `--then
    /// openclaw secrets reload` (everything after --then is the command)
    #[arg(
        long,
        value_name = "CMD",
        num_args = 1..,
        allow_hyphen_values = true,
        requires = "watch"
    )]
    pub then: Vec<String>,

    #[command(flatten)]
    pub margin: MarginArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this profile
    #[arg(short = 'p', long, value_name = "NAME", value_parser = parse_profile, add = profile_names())]
    pub profile: Option<ProfileName>,

    /// Show the access token (masked by default)
    #[arg(long)]
    pub show_token: bool,

    /// Prove each session online: a refresh when due, else one cheap call
    #[arg(long)]
    pub check: bool,

    #[command(flatten)]
    pub margin: MarginArgs,
}

#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// The profile to make the default
    #[arg(value_name = "NAME", value_parser = parse_profile, add = profile_names())]
    pub name: ProfileName,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// Remove every profile (OAuth and API-key)
    #[arg(long, conflicts_with_all = ["profile", "api_key"])]
    pub all: bool,

    /// Remove the API-key profile (minimax:NAME) instead of the OAuth one
    #[arg(long)]
    pub api_key: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    #[command(flatten)]
    pub margin: MarginArgs,

    /// The command and its arguments (after `--`)
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// POSIX shells: sh, bash, zsh (`bash` and `zsh` are accepted too)
    #[value(alias = "bash", alias = "zsh")]
    Sh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// The shell whose syntax to print
    #[arg(long, value_enum, default_value = "sh")]
    pub shell: Shell,

    #[command(flatten)]
    pub margin: MarginArgs,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    #[command(flatten)]
    pub margin: MarginArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also check a host's config JSON for the provider and its model catalog
    #[arg(long, value_name = "FILE")]
    pub host_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Completes a profile name from the stored ones.
fn profile_names() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::candidates::profile_names)
}

fn parse_profile(text: &str) -> Result<ProfileName, String> {
    ProfileName::parse(text).map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    #[test]
    fn json_and_store_show_only_where_they_are_used() {
        let mut cmd = command();
        cmd.build();
        let shown = |cmd: &mut clap::Command, sub: &str, arg: &str| {
            let sub = cmd.find_subcommand_mut(sub).unwrap();
            let long = sub.render_long_help().to_string();
            long.contains(&format!("--{arg}"))
        };
        assert!(!shown(&mut cmd, "completions", "json"));
        assert!(!shown(&mut cmd, "man", "store"));
        assert!(!shown(&mut cmd, "exec", "json"));
        assert!(shown(&mut cmd, "exec", "store"));
        assert!(shown(&mut cmd, "status", "json"));
    }

    #[test]
    fn every_subcommand_has_an_example() {
        for sub in Cli::command().get_subcommands() {
            let mut all = vec![sub.clone()];
            all.extend(sub.get_subcommands().cloned());
            // Hidden commands are the OpenClaw plugin's, not a person's.
            for cmd in all
                .iter()
                .filter(|c| !c.has_subcommands() && !c.is_hide_set())
            {
                let about = cmd
                    .get_long_about()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                assert!(
                    about.contains("Examples:"),
                    "{} has no example",
                    cmd.get_name()
                );
            }
        }
    }
}
