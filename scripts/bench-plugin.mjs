// What the OpenClaw plugin (openclaw-plugin/index.js) adds to one turn,
// beside the exec route. Run by scripts/bench-plugin.sh (which builds the
// release binary and, when it can, runs this under scripts/with-keyring.sh):
//
//   node scripts/bench-plugin.mjs --bin target/release/minimax-portal-auth --out target/bench
//
// It copies openclaw-plugin/ to a temp folder with an install.json naming
// the binary and a temp state folder, imports index.js with a fake `api`
// that keeps the provider it registers, and times with performance.now():
//   warm   one resolveExternalAuthProfiles call on a cached answer, and a
//          turn's worth (9 calls): no process runs;
//   cold   the first call of a process (empty cache): execFileSync of
//          `<binary> openclaw credentials`;
//   exec   the exec route: execFileSync of `<binary> token --profile
//          default`, what OpenClaw's exec secret provider spawns once per
//          OpenClaw process;
//   floor  execFileSync of /bin/true: what spawning anything costs Node here.
// cold and exec run on the file store and, under with-keyring.sh
// (MINIMAX_PORTAL_TEST_KEYRING=1), on the Secret Service too; the spawning
// paths are interleaved so that the machine's load drifts over all alike.
//
// The profile is seeded like scripts/bench.sh does: valid for a year, a
// 900-character access token, its token endpoint on a closed loopback port,
// so nothing is refreshed and nothing goes out. Every answer is checked for
// the seeded token; the stored profiles are checked unchanged at the end.
//
// Writes <out>/plugin.json (all statistics) and <out>/plugin.md (the table,
// also printed). Exit 0 when it ran; 1 when a path failed or answered wrong.
//
// Tuning (environment): BENCH_WARM_CALLS (200000), BENCH_WARM_TURNS (50000),
// BENCH_COLD_RUNS (200), BENCH_COLD_WARMUP (10).

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const PLUGIN_ID = "minimax-portal-keyring";
const PROFILE_ID = "minimax-portal:default";
const PLACEHOLDER_ACCESS = "kept-by-minimax-portal-auth:default";
const TURN_CALLS = 9;
// What the exec route's command gets from OpenClaw's environment
// (src/openclaw.rs, pass_env); OpenClaw passes nothing else.
const EXEC_PASS_ENV = ["HOME", "SSL_CERT_FILE", "HTTPS_PROXY", "NO_PROXY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"];

const log = (message) => console.error(`bench-plugin: ${message}`);
function usage(message) {
  log(message);
  process.exit(2);
}
// A wrong answer or a failed path: caught below, which cleans up and exits 1.
function fail(message) {
  throw new Error(message);
}
const count = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) usage(`${name} must be a positive integer`);
  return value;
};

let args;
try {
  ({ values: args } = parseArgs({ options: { bin: { type: "string" }, out: { type: "string" } } }));
} catch (error) {
  usage(error.message);
}
if (!args.bin || !args.out) usage("usage: bench-plugin.mjs --bin BINARY --out DIR");
const binary = args.bin;
const repo = fileURLToPath(new URL("..", import.meta.url));
const warmCalls = count("BENCH_WARM_CALLS", 200_000);
const warmTurns = count("BENCH_WARM_TURNS", 50_000);
const coldRuns = count("BENCH_COLD_RUNS", 200);
const coldWarmup = count("BENCH_COLD_WARMUP", 10);
// Only in scripts/with-keyring.sh's private Secret Service.
let withKeyring = process.env.MINIMAX_PORTAL_TEST_KEYRING === "1";

// Only install.json (and the exec route's env) say where the state is.
for (const name of Object.keys(process.env)) {
  if (name.startsWith("MINIMAX_PORTAL_AUTH_")) delete process.env[name];
}

// ------------------------------------------------------------- seeding --

// A port on 127.0.0.1 that refuses connections: a refresh would fail at once.
async function closedPort() {
  for (const port of [9, 1, 7, 13, 19, 47, 63, 79]) {
    const open = await new Promise((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.setTimeout(1000, () => (socket.destroy(), resolve(true)));
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (!open) return port;
  }
  fail("found no closed port on 127.0.0.1");
}

const b64url = (bytes) => randomBytes(bytes).toString("base64url");
// JWT-like: header . payload (390 bytes) . RS256 signature (256 bytes) = 900 chars.
const jwt = () => `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${b64url(390)}.${b64url(256)}`;

function profileJson(access, deadUrl) {
  const now = Date.now();
  return JSON.stringify({
    schema: 1,
    type: "oauth",
    provider: "minimax-portal",
    profile_id: PROFILE_ID,
    region: "global",
    access,
    refresh: b64url(300),
    expires: now + 365 * 24 * 3600 * 1000,
    token_endpoint: `${deadUrl}/oauth2/token`,
    client_id: "78257093-7e40-4613-99e0-527b14b39113",
    base_url: "https://api.minimax.io/anthropic",
    updated_at: now,
  });
}

function secretTool(...words) {
  return execFileSync("secret-tool", words, { encoding: "utf8", timeout: 10_000, stdio: ["pipe", "pipe", "pipe"] });
}
const keyringLookup = () => secretTool("lookup", "service", "minimax-portal-auth", "username", PROFILE_ID);
// secret-tool lookup exits 1 when nothing matches.
function keyringHolds() {
  try {
    keyringLookup();
    return true;
  } catch (error) {
    if (error.status === 1 && !String(error.stderr).trim()) return false;
    throw error;
  }
}
let seededKeyringOnce = false;

// A state folder holding the default profile in `store`, connected to the
// plugin as `openclaw setup` leaves it, and a copy of the plugin whose
// install.json points at the binary and that folder.
function seed(tmp, store, deadUrl) {
  const home = join(tmp, `state-${store}`);
  mkdirSync(join(home, "profiles"), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  writeFileSync(join(home, "config.toml"), 'openclaw_profiles = ["default"]\n', { mode: 0o600 });
  const access = jwt();
  const profile = profileJson(access, deadUrl);
  if (store === "file") {
    writeFileSync(join(home, "profiles", "default.json"), profile, { mode: 0o600 });
  } else {
    seededKeyringOnce = true;
    execFileSync(
      "secret-tool",
      ["store", "--label=minimax-portal-auth", "service", "minimax-portal-auth", "username", PROFILE_ID],
      { input: profile, timeout: 10_000, stdio: ["pipe", "ignore", "pipe"] },
    );
    if (keyringLookup() !== profile) fail("the keyring holds another profile than the one stored");
    // What a login into the keyring leaves: the index of keyring profiles.
    writeFileSync(join(home, "keyring-index.minimax-portal.json"), '["default"]', { mode: 0o600 });
  }
  const plugin = join(tmp, `plugin-${store}`);
  cpSync(join(repo, "openclaw-plugin"), plugin, { recursive: true });
  const install = { binary, env: { MINIMAX_PORTAL_AUTH_HOME: home, MINIMAX_PORTAL_AUTH_STORE: store } };
  writeFileSync(join(plugin, "install.json"), `${JSON.stringify(install, null, 2)}\n`);
  return { store, home, plugin, access, profile };
}

// The provider index.js registers, through a fake `api`.
async function loadProvider(pluginDir) {
  const { default: entry } = await import(pathToFileURL(join(pluginDir, "index.js")).href);
  let provider;
  entry.register({ registerProvider: (p) => (provider = p) });
  if (typeof provider?.resolveExternalAuthProfiles !== "function") fail("the plugin registered no resolveExternalAuthProfiles");
  return provider;
}

// The plugin's per-process cache (index.js keeps it on globalThis). Every
// evaluation of index.js holds on to this same object, so a fresh process is
// emulated by emptying it, not by deleting the global.
const cache = () => globalThis[Symbol.for(PLUGIN_ID)];
function emptyCache() {
  cache().answer = undefined;
  cache().asking = false;
}

// What OpenClaw passes: its auth store, holding the placeholder that
// onboarding stored for the profile, and a credential of another provider.
const ctx = {
  store: {
    version: 1,
    profiles: {
      [PROFILE_ID]: { type: "oauth", provider: "minimax-portal", access: PLACEHOLDER_ACCESS, refresh: "kept-by-minimax-portal-auth", expires: 0 },
      "anthropic:default": { type: "api_key", provider: "anthropic", key: "sk-ant-bench" },
    },
  },
};

function checkServed(result, expected, what) {
  const served = Array.isArray(result) ? result.find((p) => p.profileId === PROFILE_ID) : undefined;
  if (served?.credential?.access !== expected) fail(`${what} did not hand out the seeded token`);
}

// ---------------------------------------------------------- statistics --

function stats(samples, unit) {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  const rank = (q) => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)];
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  return { unit, n, mean, median: rank(0.5), p95: rank(0.95), min: sorted[0], max: sorted[n - 1] };
}

// ---------------------------------------------------------------- main --

const tmp = mkdtempSync(join(tmpdir(), "bench-plugin."));
chmodSync(tmp, 0o700);
let exitCode = 0;
try {
  // Never overwrite a profile someone keeps in this Secret Service.
  if (withKeyring && keyringHolds()) {
    log(`note: the Secret Service already holds ${PROFILE_ID}; the keyring paths are skipped`);
    withKeyring = false;
  }
  process.env.MINIMAX_PORTAL_OAUTH_BASE_URL = process.env.MINIMAX_PORTAL_API_BASE_URL = `http://127.0.0.1:${await closedPort()}`;
  const deadUrl = process.env.MINIMAX_PORTAL_OAUTH_BASE_URL;
  const stores = [seed(tmp, "file", deadUrl)];
  if (withKeyring) stores.push(seed(tmp, "keyring", deadUrl));
  for (const s of stores) s.provider = await loadProvider(s.plugin);

  const execEnv = (s) => {
    const env = Object.fromEntries(EXEC_PASS_ENV.filter((k) => k in process.env).map((k) => [k, process.env[k]]));
    return { ...env, MINIMAX_PORTAL_AUTH_HOME: s.home, MINIMAX_PORTAL_AUTH_STORE: s.store };
  };
  const spawnOptions = (env) => ({ env, encoding: "utf8", maxBuffer: 256 * 1024, timeout: 100_000, stdio: ["ignore", "pipe", "pipe"] });

  // Each timed path: run() returns what to check, check() throws on a wrong answer.
  const paths = [];
  for (const s of stores) {
    const label = s.store === "file" ? "file store" : "Secret Service";
    paths.push({
      key: `cold-${s.store}`,
      name: `plugin, cold (${label})`,
      what: "first hook call of a process: `openclaw credentials`",
      run: () => {
        emptyCache();
        return s.provider.resolveExternalAuthProfiles(ctx);
      },
      check: (result) => checkServed(result, s.access, `the cold hook call (${label})`),
    });
    const options = spawnOptions(execEnv(s));
    paths.push({
      key: `exec-${s.store}`,
      name: `exec route (${label})`,
      what: "`token --profile default`, once per OpenClaw process",
      run: () => execFileSync(binary, ["token", "--profile", "default"], options),
      check: (out) => {
        if (out.replace(/\n$/, "") !== s.access) fail(`token --profile default (${label}) printed something else than the seeded token`);
      },
    });
  }
  const floorOptions = spawnOptions(execEnv(stores[0]));
  paths.push({ key: "floor", name: "spawn floor", what: "`/bin/true`", run: () => execFileSync("/bin/true", [], floorOptions), check: () => {} });

  // Check every path before timing anything.
  for (const p of paths) p.check(p.run());
  log(`ok: every path hands out the seeded token (${stores.map((s) => s.store).join(", ")})`);

  const loadBefore = loadavg();
  const results = {};

  // ---- warm: a cached answer (the file store's; the store plays no part).
  const { provider } = stores[0];
  emptyCache();
  checkServed(provider.resolveExternalAuthProfiles(ctx), stores[0].access, "the hook call");
  const hook = () => provider.resolveExternalAuthProfiles(ctx);
  for (let i = 0; i < 20_000; i++) checkServed(hook(), stores[0].access, "a warm hook call");
  const timerCost = [];
  for (let i = 0; i < 100_000; i++) {
    const t0 = performance.now();
    timerCost.push(performance.now() - t0);
  }
  results.timer = stats(timerCost.map((ms) => ms * 1000), "µs");
  log(`warm: ${warmCalls} single calls, ${warmTurns} turns of ${TURN_CALLS}`);
  const single = new Float64Array(warmCalls);
  let sink = 0;
  for (let i = 0; i < warmCalls; i++) {
    const t0 = performance.now();
    sink += hook().length;
    single[i] = (performance.now() - t0) * 1000;
  }
  results["warm-call"] = stats(single, "µs");
  const turns = new Float64Array(warmTurns);
  for (let i = 0; i < warmTurns; i++) {
    const t0 = performance.now();
    for (let c = 0; c < TURN_CALLS; c++) sink += hook().length;
    turns[i] = (performance.now() - t0) * 1000;
  }
  results["warm-turn"] = stats(turns, "µs");
  // One clock reading per batch: the call's cost without the timer's.
  const batch = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < batch; i++) sink += hook().length;
  results["warm-batch-mean-us"] = ((performance.now() - t0) * 1000) / batch;
  if (sink === 0) fail("the warm calls handed out nothing");
  checkServed(hook(), stores[0].access, "the last warm hook call");
  if (cache().asking) log("note: a background ask started during the warm calls (the answer was over a minute old)");

  // ---- cold, exec and floor, interleaved (rotating order) so load drift hits all alike.
  log(`cold/exec: ${coldWarmup} warm-up + ${coldRuns} runs of each of ${paths.length} paths, interleaved`);
  const samples = Object.fromEntries(paths.map((p) => [p.key, []]));
  for (let i = 0; i < coldWarmup + coldRuns; i++) {
    for (let j = 0; j < paths.length; j++) {
      const p = paths[(i + j) % paths.length];
      const start = performance.now();
      const result = p.run();
      const ms = performance.now() - start;
      p.check(result);
      if (i >= coldWarmup) samples[p.key].push(ms);
    }
  }
  for (const p of paths) results[p.key] = stats(samples[p.key], "ms");
  const loadAfter = loadavg();

  // ---- nothing was written back.
  for (const s of stores) {
    if (s.store === "file" && readFileSync(join(s.home, "profiles", "default.json"), "utf8") !== s.profile) fail("the file profile was rewritten during the benchmark");
    if (s.store === "keyring" && keyringLookup() !== s.profile) fail("the keyring profile was rewritten during the benchmark");
  }
  log("ok: no stored profile was rewritten");

  // ---------------------------------------------------------- report --
  const fmt = (v, digits = 2) => v.toFixed(digits);
  const row = (label, what, r, digits) => `| ${label} | ${what} | ${r.n} | ${fmt(r.mean, digits)} ${r.unit} | ${fmt(r.median, digits)} ${r.unit} | ${fmt(r.p95, digits)} ${r.unit} |`;
  const load = (l) => l.map((x) => x.toFixed(2)).join(" / ");
  const lines = [
    `== OpenClaw plugin: what it adds to a turn (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC)`,
    "",
    `machine: ${cpus().length} CPU (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}`,
    `binary: ${binary} (${statSync(binary).size} bytes)`,
    `load average (1/5/15 min): before ${load(loadBefore)}, after ${load(loadAfter)}`,
    "",
    "| path | what runs | n | mean | median | p95 |",
    "| --- | --- | --- | --- | --- | --- |",
    row("plugin, warm: one hook call", "nothing (cached answer)", results["warm-call"], 3),
    row(`plugin, warm: a turn (${TURN_CALLS} calls)`, "nothing (cached answer)", results["warm-turn"], 3),
    ...paths.map((p) => row(p.name, p.what, results[p.key], 2)),
    "",
    `warm call, ${batch} calls timed as one: ${fmt(results["warm-batch-mean-us"], 3)} µs each; ` +
      `the clock itself (two performance.now() in a row): median ${fmt(results.timer.median, 3)} µs.`,
  ];
  for (const s of stores) {
    const cold = results[`cold-${s.store}`];
    const exec = results[`exec-${s.store}`];
    lines.push(
      `${s.store}: cold plugin call - exec route = ${fmt(cold.median - exec.median)} ms (median), ` +
        `${fmt(cold.median / exec.median)}×; a warm turn is ${fmt((results["warm-turn"].median / 1000 / exec.median) * 100, 3)}% of the exec route.`,
    );
  }
  const text = `${lines.join("\n")}\n`;
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, "plugin.md"), text);
  const meta = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadBefore, loadAfter, binary, stores: stores.map((s) => s.store) };
  writeFileSync(join(args.out, "plugin.json"), `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
  process.stdout.write(`\n${text}\ndetails: ${join(args.out, "plugin.json")}\n`);
} catch (error) {
  console.error(`bench-plugin: error: ${error?.stderr ? String(error.stderr).trim() : error?.message ?? error}`);
  exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
  // Leave the Secret Service as found (with-keyring.sh's is private anyway).
  if (seededKeyringOnce) {
    try {
      secretTool("clear", "service", "minimax-portal-auth", "username", PROFILE_ID);
    } catch {}
  }
}
process.exit(exitCode);
