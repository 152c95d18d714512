// OpenClaw's side of minimax-portal-auth. It decides nothing: it asks the
// binary that `minimax-portal-auth openclaw setup` recorded in install.json
// (beside this file) and hands OpenClaw the answers. Why and how: README.md
// ("OpenClaw") and docs/openclaw-plugin.md.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const ID = "minimax-portal-keyring";
const OUTPUT_LIMIT = 256 * 1024;
// The binary bounds its own waits (lock 60 s, each request 30 s, a sign-in
// 15 min); these only catch a binary that hangs anyway.
const ASK_TIMEOUT_MS = 100_000;
const SIGN_IN_TIMEOUT_MS = 16 * 60_000;

function install() {
  try {
    return JSON.parse(readFileSync(new URL("./install.json", import.meta.url), "utf8"));
  } catch {
    throw new Error(
      "this plugin was not installed by minimax-portal-auth. fix: minimax-portal-auth openclaw setup",
    );
  }
}

function options(extra) {
  const { env } = install();
  return { env: { ...process.env, ...env }, maxBuffer: OUTPUT_LIMIT, encoding: "utf8", windowsHide: true, ...extra };
}

function trouble(error) {
  const said = String(error.stderr ?? "").trim().split("\n").pop();
  return {
    error: `minimax-portal-auth did not answer: ${said || error.message}`,
    reuse_until: Date.now() + 5_000,
    ask_after: 0,
  };
}

// One answer per process, shared by every copy of this module (OpenClaw
// evaluates it more than once), kept for as long as the binary says.
const cache = (globalThis[Symbol.for(ID)] ??= { answer: undefined, asking: false });

function askNow() {
  try {
    const args = ["openclaw", "credentials"];
    return JSON.parse(execFileSync(install().binary, args, options({ timeout: ASK_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] })));
  } catch (error) {
    return trouble(error);
  }
}

// Refreshes ahead of expiry without making a turn wait.
function askLater() {
  if (cache.asking) return;
  cache.asking = true;
  const done = (error, stdout) => {
    cache.asking = false;
    try {
      if (error) throw error;
      cache.answer = JSON.parse(stdout);
    } catch {
      if (cache.answer) cache.answer.ask_after = Date.now() + 30_000;
    }
  };
  try {
    execFile(install().binary, ["openclaw", "credentials"], options({ timeout: ASK_TIMEOUT_MS }), done);
  } catch (error) {
    done(error);
  }
}

function credentials(store) {
  const now = Date.now();
  if (!cache.answer || now >= cache.answer.reuse_until) cache.answer = askNow();
  else if (now >= cache.answer.ask_after) askLater();
  const { error, profiles, placeholders = {} } = cache.answer;
  if (error) throw new Error(error);
  // A stored placeholder under another id (OpenClaw's wizard tests a new
  // sign-in under a staging id) gets the profile it stands for.
  const staged = Object.entries(store?.profiles ?? {}).flatMap(([id, stored]) => {
    const served = profiles.find((p) => p.profileId === placeholders[stored?.access]);
    return served && id !== served.profileId ? [{ ...served, profileId: id }] : [];
  });
  return [...profiles, ...staged];
}

// `minimax-portal-auth openclaw onboard`: the sign-in talks to the user on
// stderr (and the terminal); stdout carries the result for OpenClaw.
function signIn(args, input) {
  const { binary } = install();
  const run = spawnSync(binary, ["openclaw", "onboard", ...args], {
    ...options({ timeout: SIGN_IN_TIMEOUT_MS }),
    stdio: [input === undefined ? "inherit" : "pipe", "pipe", "inherit"],
    input,
  });
  cache.answer = undefined;
  if (run.error) throw new Error(`minimax-portal-auth could not run: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`minimax-portal-auth sign-in failed (exit ${run.status}); see above`);
  return JSON.parse(run.stdout);
}

export default {
  id: ID,
  name: "MiniMax sign-in by minimax-portal-auth",
  description: "Hands OpenClaw the MiniMax token that minimax-portal-auth keeps fresh.",
  register(api) {
    api.registerProvider({
      id: ID,
      label: "MiniMax (minimax-portal-auth)",
      auth: [
        {
          id: "login",
          label: "MiniMax OAuth, kept fresh by minimax-portal-auth",
          hint: "Global or CN; the token lives in the OS keyring",
          kind: "device_code",
          wizard: { choiceId: "minimax-portal", groupId: "minimax", groupLabel: "MiniMax" },
          run: async () => signIn([]),
          runNonInteractive: async (ctx) => {
            const result = signIn(["--non-interactive"], JSON.stringify(ctx.config ?? {}));
            const { upsertAuthProfile } = await import("openclaw/plugin-sdk/provider-auth");
            for (const profile of result.profiles) upsertAuthProfile({ ...profile, agentDir: ctx.agentDir });
            return result.config;
          },
        },
      ],
      resolveExternalAuthProfiles: (ctx) => credentials(ctx.store),
    });
  },
};
