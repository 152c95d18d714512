#!/usr/bin/env bash
# Run CMD [ARGS...] against a real, unlocked Secret Service.
#
#   bash scripts/with-keyring.sh CMD [ARGS...]
#
# What CMD gets:
#   - a private D-Bus session bus (dbus-run-session), so nothing touches the
#     caller's desktop keyring;
#   - gnome-keyring-daemon (secrets component only) on that bus, with a `login`
#     collection created in a throwaway XDG_DATA_HOME, unlocked with a
#     throwaway password, and the Secret Service `default` alias pointing at it;
#   - a fresh kernel session keyring (keyutils), when the kernel allows one;
#   - MINIMAX_PORTAL_TEST_KEYRING=1, telling the tests a real Secret Service
#     is there.
# HOME is left alone (changing it breaks rustup). The temp folder is removed
# and the daemon stopped when CMD ends; the exit code is CMD's.
#
# Needs: dbus-run-session, dbus-send, gnome-keyring-daemon, secret-tool and
# (optionally) keyctl. scripts/test.sh installs them on Debian.
set -euo pipefail

log() { printf 'with-keyring: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

# Outer stage: start a private session bus and run this script again inside it.
if [ -z "${_WITH_KEYRING_INNER:-}" ]; then
    for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
        command -v "$tool" >/dev/null 2>&1 \
            || die "'$tool' not found: run 'bash scripts/test.sh' once (it installs gnome-keyring, dbus, libsecret-tools, keyutils)"
    done
    export _WITH_KEYRING_INNER=1
    exec dbus-run-session -- bash "$0" "$@"
fi
unset _WITH_KEYRING_INNER

# Inner stage: we are the child of dbus-run-session.
[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || die "dbus-run-session gave no DBUS_SESSION_BUS_ADDRESS"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/with-keyring.XXXXXXXX")"
gkd_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    # A daemon that died under the command explains its failures: keep its
    # last words (seen once in five benchmark runs: a SIGTRAP crash).
    if [ -n "$gkd_pid" ] && ! kill -0 "$gkd_pid" 2>/dev/null; then
        log "warning: gnome-keyring-daemon died during the run; its log:"
        tail -n 40 "$tmp/gkd.log" >&2 2>/dev/null || true
    fi
    if [ -n "$gkd_pid" ] && kill -0 "$gkd_pid" 2>/dev/null; then
        kill -TERM "$gkd_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$gkd_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$gkd_pid" 2>/dev/null || true
        wait "$gkd_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$tmp/data" "$tmp/runtime" "$tmp/config" "$tmp/cache"
chmod 700 "$tmp" "$tmp/runtime"
export XDG_DATA_HOME="$tmp/data"
export XDG_RUNTIME_DIR="$tmp/runtime"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_CACHE_HOME="$tmp/cache"
# No display: make sure nothing tries to pop up a prompt window (a locked
# collection then fails fast with "prompt dismissed" instead of waiting).
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK || true
# Services that the bus starts on demand (a gnome-keyring started by D-Bus
# activation, gcr-prompter) get the bus's environment, not ours: give them the
# temp folders too, so nothing ever writes to the real ~/.local or ~/.cache.
if command -v dbus-update-activation-environment >/dev/null 2>&1; then
    dbus-update-activation-environment \
        XDG_DATA_HOME XDG_RUNTIME_DIR XDG_CONFIG_HOME XDG_CACHE_HOME \
        >/dev/null 2>&1 || log "warning: could not set the D-Bus activation environment"
fi

secret_service_owned() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
        string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}

ss_call() { # METHOD ARGS... on the Secret Service object
    dbus-send --session --print-reply --dest=org.freedesktop.secrets \
        /org/freedesktop/secrets "org.freedesktop.Secret.Service.$1" "${@:2}"
}

# 1. gnome-keyring-daemon in the foreground (so we own its pid), secrets only.
#    --unlock reads the password from stdin and creates/unlocks `login`.
#    Started before anything talks to org.freedesktop.secrets, so D-Bus
#    activation never starts a second, locked daemon.
password="throwaway-$$-$RANDOM"
printf '%s' "$password" \
    | gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$tmp/gkd.out" 2>"$tmp/gkd.log" &
gkd_pid=$!
unset password

for _ in $(seq 1 100); do
    secret_service_owned && break
    kill -0 "$gkd_pid" 2>/dev/null || { cat "$tmp/gkd.log" >&2; die "gnome-keyring-daemon exited early"; }
    sleep 0.1
done
secret_service_owned || { cat "$tmp/gkd.log" >&2; die "gnome-keyring-daemon did not claim org.freedesktop.secrets within 10 s"; }

# 2. The `default` alias must resolve to an unlocked collection.
login=/org/freedesktop/secrets/collection/login
default_path="$(ss_call ReadAlias string:default | sed -n 's/.*object path "\(.*\)".*/\1/p')"
if [ -z "$default_path" ] || [ "$default_path" = "/" ]; then
    ss_call SetAlias string:default "objpath:$login" >/dev/null \
        || die "could not point the Secret Service 'default' alias at $login"
    default_path="$(ss_call ReadAlias string:default | sed -n 's/.*object path "\(.*\)".*/\1/p')"
fi
[ "$default_path" = "$login" ] || die "'default' alias resolves to '${default_path:-nothing}', expected $login"
locked="$(dbus-send --session --print-reply --dest=org.freedesktop.secrets "$login" \
    org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked \
    | sed -n 's/.*boolean \(true\|false\).*/\1/p')"
[ "$locked" = "false" ] || die "the login collection is locked (Locked=${locked:-unknown})"

# 3. Round trip through secret-tool (libsecret), then clear the probe.
probe_attrs=(service with-keyring-probe user "probe-$$")
printf 'x' | timeout 10 secret-tool store --label=with-keyring-probe "${probe_attrs[@]}" \
    || die "secret-tool store failed"
got="$(timeout 10 secret-tool lookup "${probe_attrs[@]}")" || die "secret-tool lookup failed"
[ "$got" = "x" ] || die "secret-tool lookup returned '$got', expected 'x'"
timeout 10 secret-tool clear "${probe_attrs[@]}" || die "secret-tool clear failed"
log "Secret Service ready (gnome-keyring-daemon pid $gkd_pid, default -> $login, unlocked)"

# 4. Kernel keyring: a fresh session keyring for this shell and its children.
if command -v keyctl >/dev/null 2>&1; then
    if keyctl new_session >/dev/null 2>"$tmp/keyctl.log" \
        && key_id="$(keyctl add user with-keyring-probe x @s 2>>"$tmp/keyctl.log")" \
        && keyctl unlink "$key_id" @s >/dev/null 2>>"$tmp/keyctl.log"; then
        log "kernel session keyring ready ($(keyctl show @s 2>/dev/null | sed -n 's/^ *\([0-9]*\) .*_ses.*/\1/p' | head -n1))"
    else
        log "warning: no kernel session keyring (keyutils tests may fail): $(tr '\n' ' ' <"$tmp/keyctl.log")"
    fi
else
    log "warning: keyctl not found: no kernel session keyring"
fi

export MINIMAX_PORTAL_TEST_KEYRING=1

# 5. Run the command (not exec: the trap must stop the daemon and clean up).
set +e
"$@"
rc=$?
set -e
exit "$rc"
