#!/usr/bin/env bash
# Reproduces, offline, what docs/openclaw.md says about OpenClaw's exec secret
# provider, with stub-token.sh in place of `minimax-portal-auth token` and
# mock-anthropic.py in place of the MiniMax model API.
#
#   bash scripts/openclaw-experiments/demo.sh local      # one `agent --local` turn
#   bash scripts/openclaw-experiments/demo.sh gateway    # Gateway + secrets reload
#   bash scripts/openclaw-experiments/demo.sh parallel N # N `agent --local` at once
#
# Needs `bash scripts/install-deps.sh openclaw` first. Works in a fresh
# temporary folder (kept, and printed, for inspection; KEEP=0 removes it), on
# two free loopback ports. Prints what OpenClaw sent and PASS/FAIL lines; exits
# 1 on a FAIL. Everything is bounded in time and stopped on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
eval "$("$here/../openclaw-env.sh")"   # before HOME changes: the cache is under it
mode="${1:-local}"

X="$(mktemp -d /tmp/openclaw-demo.XXXXXX)"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [ "${KEEP:-1}" = 0 ]; then rm -rf "$X"; else echo "demo folder: $X" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fails=0
check() { # DESCRIPTION COMMAND...
    if "${@:2}"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}

# The stub: absolute path, a real file, owned by us, mode 0755 in a 0700 folder.
mkdir -p "$X/home" "$X/state" "$X/bin"
chmod 700 "$X" "$X/bin" "$X/state"
install -m 755 "$here/stub-token.sh" "$X/bin/stub-token.sh"
echo "tok-demo-1" >"$X/bin/token.txt"
set_token() { echo "$1" >"$X/bin/token.txt"; }
exec_runs() { grep -c '^===' "$X/bin/exec.log" 2>/dev/null || echo 0; }

mock_port="$(free_port)"
python3 "$here/mock-anthropic.py" "$X/requests.log" "$mock_port" >"$X/mock.port" 2>"$X/mock.err" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$X/mock.port" ] && break; sleep 0.1; done
# The last request's token, as sent in Authorization (and x-api-key).
last_auth() {
    tail -n 1 "$X/requests.log" | python3 -c 'import json,sys; h=json.load(sys.stdin)["headers"]; print(h.get("authorization"), "|", h.get("x-api-key"))'
}

export HOME="$X/home" OPENCLAW_STATE_DIR="$X/state" OPENCLAW_CONFIG_PATH="$X/state/openclaw.json"
export OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_SKIP_CHANNELS=1 OPENCLAW_NO_RESPAWN=1
oc() { timeout "${OC_TIMEOUT:-180}" "$OPENCLAW_NODE" "$OPENCLAW_ENTRY" "$@" </dev/null; }

# What `minimax-portal-auth openclaw setup` would merge (models trimmed to two).
cat >"$X/patch.json" <<EOF
{
  "secrets": { "providers": { "mmauth": {
    "source": "exec", "command": "$X/bin/stub-token.sh",
    "args": ["token", "--profile", "default"],
    "jsonOnly": false, "timeoutMs": 60000,
    "passEnv": ["HOME", "MINIMAX_PORTAL_AUTH_HOME", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]
  } } },
  "models": { "providers": { "minimax-portal": {
    "baseUrl": "http://127.0.0.1:$mock_port/anthropic",
    "api": "anthropic-messages", "authHeader": true,
    "apiKey": { "source": "exec", "provider": "mmauth", "id": "minimax-portal:default" },
    "models": [
      { "id": "MiniMax-M3", "name": "MiniMax M3", "reasoning": true, "input": ["text", "image"],
        "cost": { "input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0 },
        "contextWindow": 1000000, "maxTokens": 131072 },
      { "id": "MiniMax-M2.7", "name": "MiniMax M2.7", "reasoning": true, "input": ["text"],
        "cost": { "input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0 },
        "contextWindow": 204800, "maxTokens": 131072 }
    ]
  } } },
  "agents": { "defaults": {
    "models": { "minimax-portal/MiniMax-M3": { "alias": "minimax-m3" },
                "minimax-portal/MiniMax-M2.7": { "alias": "minimax-m2.7" } },
    "model": { "primary": "minimax-portal/MiniMax-M3" }
  } },
  "discovery": { "mdns": { "mode": "off" } }
}
EOF
# Without logging.file every OpenClaw process logs to the shared /tmp/openclaw/.
echo "{ \"logging\": { \"file\": \"$X/state/logs/openclaw.log\" } }" >"$OPENCLAW_CONFIG_PATH"
t="$(now)"
oc config patch --file "$X/patch.json" >"$X/patch.out" 2>&1
echo "config patch: $(since "$t") s: $(cat "$X/patch.out")"
check "config validate" oc config validate --json

case "$mode" in
local)
    t="$(now)"
    oc agent --local --agent main --message ping --json >"$X/agent.json" 2>"$X/agent.err"
    echo "agent --local: $(since "$t") s"
    check "one exec run" test "$(exec_runs)" = 1
    echo "sent: $(last_auth)"
    check "token sent" test "$(last_auth)" = "Bearer tok-demo-1 | tok-demo-1"
    set_token tok-demo-2
    oc agent --local --agent main --message ping --json >"$X/agent2.json" 2>"$X/agent2.err"
    check "a new process runs the exec again and sends the new token" \
        test "$(last_auth)" = "Bearer tok-demo-2 | tok-demo-2"
    ;;
gateway)
    gw_port="$(free_port)"
    export OPENCLAW_GATEWAY_TOKEN="gw-demo-token"   # the Gateway and its clients both read it
    echo "{\"gateway\":{\"mode\":\"local\",\"port\":$gw_port,\"bind\":\"loopback\",\"auth\":{\"mode\":\"token\"}}}" >"$X/gateway-patch.json"
    oc config patch --file "$X/gateway-patch.json" >/dev/null 2>&1
    t="$(now)"
    timeout 900 "$OPENCLAW_NODE" "$OPENCLAW_ENTRY" gateway run --port "$gw_port" --bind loopback \
        --auth token </dev/null >"$X/gateway.out" 2>"$X/gateway.err" &
    gw=$!
    pids+=("$gw")
    ready=0
    for _ in $(seq 1 240); do
        kill -0 "$gw" 2>/dev/null || break
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gw_port/readyz")" = 200 ]; then
            ready=1; break
        fi
        sleep 0.5
    done
    check "gateway ready (/readyz 200) after $(since "$t") s" test "$ready" = 1
    check "gateway ran the exec once at start" test "$(exec_runs)" = 1
    turn() {
        local t0; t0="$(now)"
        OC_TIMEOUT=300 oc agent --agent main --message ping --json >>"$X/turns.json" 2>>"$X/turns.err"
        echo "turn via gateway: $(since "$t0") s, sent: $(last_auth)"
    }
    turn
    check "start-up token" test "$(last_auth)" = "Bearer tok-demo-1 | tok-demo-1"
    set_token tok-demo-2
    turn
    check "gateway keeps its token after the stub changes" test "$(last_auth)" = "Bearer tok-demo-1 | tok-demo-1"
    t="$(now)"
    oc secrets reload --json >"$X/reload.json" 2>"$X/reload.err"
    echo "secrets reload: $(since "$t") s: $(tr -d ' \n' <"$X/reload.json")"
    check "reload ran the exec" test "$(exec_runs)" = 2
    turn
    check "after secrets reload: the new token" test "$(last_auth)" = "Bearer tok-demo-2 | tok-demo-2"
    t="$(now)"
    kill -TERM "$gw"
    rc=0; wait "$gw" || rc=$?
    # timeout(1) passes SIGTERM on and exits with the Gateway's status.
    check "gateway stopped by SIGTERM in $(since "$t") s with status 0 (got $rc)" test "$rc" = 0
    ;;
parallel)
    n="${2:-8}"
    for i in $(seq 1 "$n"); do
        mkdir -m 700 "$X/state$i"
        cp "$OPENCLAW_CONFIG_PATH" "$X/state$i/openclaw.json"
    done
    t="$(now)"
    for i in $(seq 1 "$n"); do
        OPENCLAW_STATE_DIR="$X/state$i" OPENCLAW_CONFIG_PATH="$X/state$i/openclaw.json" OC_TIMEOUT=600 \
            oc agent --local --agent main --message ping --json >"$X/agent$i.json" 2>"$X/agent$i.err" &
    done
    ok=0
    for job in $(jobs -p); do
        case " ${pids[*]} " in *" $job "*) continue ;; esac
        if wait "$job"; then ok=$((ok + 1)); fi
    done
    echo "$n agent --local at once: $(since "$t") s"
    check "all $n succeeded ($ok)" test "$ok" = "$n"
    check "$n exec runs" test "$(exec_runs)" = "$n"
    ;;
*) echo "usage: $0 local|gateway|parallel [N]" >&2; exit 2 ;;
esac

[ "$fails" = 0 ]
