//! Every command and flag, in one place.

use crate::profile::ProfileName;
use crate::region::Region;
use crate::store::StoreMode;
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0    ok
  1    failed (the message says why and what to do)
  2    usage error (bad flag, bad profile name, no --region without a terminal)
  3    you must log in again (no profile, or the refresh token was rejected)
  4    transient: network, portal 5xx or timeout; try later (the stored profile is untouched)
  5    the keyring is locked or not reachable (use --store file, or unlock it)
  130  cancelled with Ctrl-C

Environment:
  MINIMAX_PORTAL_AUTH_STORE             auto | keyring | file (same as --store)
  MINIMAX_PORTAL_AUTH_HOME              state folder: locks, file store, profile index
  MINIMAX_PORTAL_OAUTH_BASE_URL         replaces both regions' OAuth base (http:// only for loopback)
  MINIMAX_PORTAL_API_BASE_URL           replaces both regions' API base
  MINIMAX_PORTAL_AUTHORIZE_URL          authorize page of --flow browser (default: OAuth base + /oauth2/authorize)
  MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS  bound on each keyring call (default 5000)
  MINIMAX_PORTAL_AUTH_HTTP_TIMEOUT_MS   bound on each portal request (default 30000)
  HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE  as usual";

#[derive(Debug, Parser)]
#[command(
    name = "minimax-portal-auth",
    version,
    about = "Sign in to MiniMax (Global or CN) with your Coding Plan and keep the tokens fresh for agent hosts",
    long_about = "Sign in to the MiniMax portal (Global: api.minimax.io, CN: api.minimaxi.com) with \
OAuth, keep the tokens in the OS keyring as an auth profile, and keep them fresh. Agent hosts \
(OpenClaw and the like) run it through plugin.toml; people run `login` once.\n\n\
Human messages go to stderr; with --json each command prints one JSON object on stdout. \
Tokens never appear in arguments, logs or error messages.",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Print one JSON object on stdout for programs (human text stays on stderr)
    #[arg(long, global = true)]
    pub json: bool,

    /// Where profiles are kept: the OS keyring, a 0600 file, or auto (keyring, else file with a warning)
    #[arg(
        long,
        global = true,
        value_enum,
        env = "MINIMAX_PORTAL_AUTH_STORE",
        default_value = "auto"
    )]
    pub store: StoreMode,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in with the browser and save the profile
    #[command(long_about = "Sign in to MiniMax and save the profile.\n\n\
Prints a link and a code, opens the browser (unless --no-browser or a remote session), and waits \
until you approve the code on MiniMax's page. The profile is saved only after a successful sign-in: \
a failed or cancelled login leaves an existing profile as it was.\n\n\
Examples:\n  minimax-portal-auth login --region global\n  \
minimax-portal-auth login --region cn --no-browser --profile work\n  \
minimax-portal-auth login --region global --json   # config patch for the host on stdout\n  \
printf '%s' \"$KEY\" | minimax-portal-auth login --region global --with-api-key   # API-key route")]
    Login(LoginArgs),
    /// Print a valid access token (refreshing it first when due) and nothing else
    #[command(
        long_about = "Print the access token of a profile on stdout and nothing else, \
refreshing it first when less than the margin is left. Meant for scripts: \
TOKEN=$(minimax-portal-auth token)"
    )]
    Token(TokenArgs),
    /// Refresh whatever is due (the host's start-up hook)
    #[command(
        long_about = "Refresh the profiles that are due (less than the margin left), or all \
with --force. Prints one report per profile and exits with the worst outcome. With nothing due it \
makes no network request."
    )]
    Refresh(RefreshArgs),
    /// Show profiles, their region, expiry, store, and whether a new login is needed
    Status(StatusArgs),
    /// Remove a profile from the store
    Logout(LogoutArgs),
    /// Show the Coding Plan's usage windows per model and when they reset
    Usage(UsageArgs),
    /// Check the keyring, state folder, portal, clock, profiles and host config; say what fixes each
    Doctor(DoctorArgs),
    /// Connect a profile to OpenClaw, which refreshes no MiniMax token itself
    #[command(subcommand)]
    Openclaw(OpenclawCommand),
}

#[derive(Debug, Subcommand)]
pub enum OpenclawCommand {
    /// Make OpenClaw get its MiniMax token from this tool, always fresh
    #[command(long_about = "Make OpenClaw get its MiniMax token from this tool.\n\n\
OpenClaw signs in to MiniMax itself but never refreshes the token, so its sessions die at \
expiry. This adds to OpenClaw's config, through OpenClaw's own `openclaw config patch`, an exec \
secret provider that runs `minimax-portal-auth token --profile NAME`, the provider that uses it \
(the profile's model base URL, the model catalog, aliases), and with --set-default the default \
model. Every OpenClaw process then asks for a fresh token; a long-running Gateway reads it once, \
so keep it fresh with `refresh --watch --then openclaw secrets reload` (or --service).\n\n\
The default profile becomes OpenClaw's provider `minimax-portal`; another profile gets its own \
provider `minimax-portal-NAME`, so profiles in different regions never share a base URL.\n\n\
Examples:\n  minimax-portal-auth openclaw setup --set-default\n  \
minimax-portal-auth openclaw setup --profile work\n  \
minimax-portal-auth openclaw setup --dry-run      # print the patch and the command\n  \
minimax-portal-auth openclaw setup --service      # also a systemd user unit for the watcher\n  \
minimax-portal-auth openclaw setup --remove")]
    Setup(OpenclawSetupArgs),
}

#[derive(Debug, Args)]
pub struct OpenclawSetupArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// Also make the profile's default model OpenClaw's default model
    #[arg(long, conflicts_with = "remove")]
    pub set_default: bool,

    /// OpenClaw's command (default: `openclaw` on PATH)
    #[arg(long, value_name = "PATH")]
    pub openclaw: Option<std::path::PathBuf>,

    /// Print the patch and the command that applies it; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Take the setup out of OpenClaw's config again
    #[arg(long)]
    pub remove: bool,

    /// Also write a systemd user unit (macOS: print a launchd plist) that
    /// runs the watcher and reloads OpenClaw's secrets after each refresh
    #[arg(long, conflicts_with = "remove")]
    pub service: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Flow {
    /// The best flow for this portal (today: device)
    Auto,
    /// Confirm a user code in any browser, on this machine or another
    Device,
    /// Authorization code with a redirect to 127.0.0.1 (the browser must run on this machine; MiniMax has not been seen serving it)
    Browser,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Profile name: letters, digits, '-' and '_' (profile id minimax-portal:NAME)
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = parse_profile)]
    pub profile: ProfileName,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Global (api.minimax.io) or CN (api.minimaxi.com); asked on a terminal when omitted
    #[arg(long, value_enum)]
    pub region: Option<Region>,

    /// How to sign in
    #[arg(long, value_enum, default_value = "auto")]
    pub flow: Flow,

    /// Do not open a browser; just print the link and the code (--flow browser: and take the address pasted back)
    #[arg(long)]
    pub no_browser: bool,

    /// With --flow browser: the port on 127.0.0.1 the browser comes back to (default 18991, else any free port)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Store a MiniMax API key instead (read from stdin, or a hidden prompt; never an argument)
    #[arg(long, conflicts_with_all = ["flow", "no_browser", "port"])]
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
    /// Profile to refresh
    #[arg(long, value_name = "NAME", value_parser = parse_profile, conflicts_with = "all")]
    pub profile: Option<ProfileName>,

    /// Refresh every profile (the default when --profile is not given)
    #[arg(long)]
    pub all: bool,

    /// Refresh even when not due
    #[arg(long, conflicts_with = "watch")]
    pub force: bool,

    /// Stay in the foreground and refresh each profile the margin before it
    /// expires, until SIGTERM or Ctrl-C (for hosts that read the token once,
    /// such as an OpenClaw Gateway)
    #[arg(long)]
    pub watch: bool,

    /// With --watch: run this command after each refresh, e.g.
    /// `--then openclaw secrets reload` (everything after --then is the command)
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
pub struct LogoutArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// Remove the API-key profile (minimax:NAME) instead of the OAuth one
    #[arg(long)]
    pub api_key: bool,
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
    pub host_config: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this profile
    #[arg(long, value_name = "NAME", value_parser = parse_profile)]
    pub profile: Option<ProfileName>,

    #[command(flatten)]
    pub margin: MarginArgs,
}

fn parse_profile(text: &str) -> Result<ProfileName, String> {
    ProfileName::parse(text).map_err(|e| e.message)
}
