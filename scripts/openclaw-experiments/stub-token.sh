#!/bin/sh
# Stands in for `minimax-portal-auth token`: prints the token stored in the
# file token.txt beside it, and logs what OpenClaw gave it (argv, cwd, env,
# stdin) to exec.log beside it. If a file `fail` is beside it, it prints that
# file on stderr and exits 3 instead; if `sleep` is, it sleeps that many
# seconds first. Uses absolute paths: OpenClaw passes only the variables
# listed in passEnv, so PATH may be unset.
dir=$(/usr/bin/dirname "$0")
{
    echo "=== $(/usr/bin/date +%s.%N) pid=$$ argv: $*"
    echo "cwd: $(/bin/pwd)"
    echo "env:"; /usr/bin/env | /usr/bin/sort
    echo "stdin: $(/bin/cat)"
} >>"$dir/exec.log"
[ -f "$dir/sleep" ] && /bin/sleep "$(/bin/cat "$dir/sleep")"
if [ -f "$dir/fail" ]; then
    /bin/cat "$dir/fail" >&2
    exit 3
fi
/bin/cat "$dir/token.txt"
