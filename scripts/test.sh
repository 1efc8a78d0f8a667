#!/usr/bin/env bash
# berth's whole test suite, as .ci/run and the README run it:
#   install deps -> build -> typecheck -> lint -> unit -> base images -> integration.
# The integration tier (runc, overlayfs, iptables, the daemon) runs only as root.
#
#   scripts/test.sh
#
#   BERTH_SKIP_INSTALL=1  skip scripts/install.sh (deps already in place)
set -euo pipefail

LOG_TAG="test"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"

case "${1:-}" in
"") ;;
-h | --help)
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
	exit 0
	;;
*) die "unknown argument: $1" ;;
esac

cd "$BERTH_REPO"
T0="$(date +%s)"
RESULTS=()

summary() {
	local joined
	joined="$(printf '%s, ' "${RESULTS[@]}")"
	log "$1: ${joined%, } (total $(elapsed_since "$T0"))"
}

# step NAME CMD...: run one stage, time it, stop the suite on the first failure.
step() {
	local name="$1" t0 rc=0
	shift
	log "=== $name: $*"
	t0="$(date +%s)"
	"$@" || rc=$?
	if [[ "$rc" -ne 0 ]]; then
		RESULTS+=("$name FAILED (exit $rc)")
		summary FAIL
		exit "$rc"
	fi
	RESULTS+=("$name ok $(elapsed_since "$t0")")
}

skip() {
	RESULTS+=("$1 SKIPPED")
}

if [[ "${BERTH_SKIP_INSTALL:-0}" == 1 ]]; then
	skip install
else
	# --no-build: the build step below does it, and reports it separately.
	step install bash scripts/install.sh --no-build
fi
# `npx --no`: fail rather than download a tool that is missing from node_modules.
step build npm run --silent build
step typecheck npx --no -- tsc -p tsconfig.json --noEmit
step lint npx --no -- eslint .
step unit npx --no -- vitest run --project unit

if is_root; then
	step base-images bash scripts/base-images.sh build
	step integration env BERTH_TEST_ROOT=1 npx --no -- vitest run --project integration
else
	log "!!! SKIPPED integration tier: it needs root (runc, overlayfs mounts, iptables, debootstrap); rerun as root, e.g. sudo scripts/test.sh"
	skip base-images
	skip integration
fi

summary PASS
