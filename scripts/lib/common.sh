# shellcheck shell=bash
# Shared helpers for berth's scripts. Sourced, never executed: callers set
# `set -euo pipefail` themselves.

# Repo root = parent of scripts/, resolved through symlinks so the scripts work
# when called from anywhere.
BERTH_REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
export BERTH_REPO

# One prefix per script keeps interleaved output (CI, test.sh) readable.
: "${LOG_TAG:=berth}"

log() { printf '%s: %s\n' "$LOG_TAG" "$*"; }
warn() { printf '%s: warning: %s\n' "$LOG_TAG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$LOG_TAG" "$*" >&2
	exit 1
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
	if is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -- "$@"
	else
		die "need root for: $* (run as root or install sudo)"
	fi
}

# Seconds since an epoch timestamp taken with `date +%s`.
elapsed_since() { echo "$(($(date +%s) - $1))s"; }
