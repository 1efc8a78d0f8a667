#!/usr/bin/env bash
# One-time setup for a fresh Debian/Ubuntu machine: system packages berth needs,
# node deps, build, and /usr/local/bin/berth. Safe to re-run; re-runs are fast.
#
#   sudo scripts/install.sh [--no-apt] [--no-build]
#
#   --no-apt    skip system packages (not Debian, or you manage them yourself)
#   --no-build  skip `npm run build` (scripts/test.sh builds on its own)
set -euo pipefail

LOG_TAG=install
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"

# Help text = the comment block at the top of this file.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

do_apt=1
do_build=1
for arg in "$@"; do
	case "$arg" in
	--no-apt) do_apt=0 ;;
	--no-build) do_build=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $arg"
		;;
	esac
done

# runc/conmon run containers; iptables/iproute2 build the bridge network;
# busybox-static and debootstrap feed scripts/base-images.sh; attr gives
# setfattr/getfattr (overlayfs whiteouts/opaque dirs); socat and tini are used by
# tests and `--init`; procps provides `ps` for `berth top`.
PACKAGES=(
	runc conmon iptables iproute2 busybox-static debootstrap attr socat tini
	util-linux tar gzip ca-certificates procps
	# zstd unpacks zstd-compressed image layers (Node 20 has no zstd)
	zstd
	# registry tests: the CNCF distribution registry, htpasswd files, token-auth certificates
	docker-registry apache2-utils openssl
	# test clients: curl for published ports, docker-compose (v1) as a second Engine API client
	curl docker-compose
)
NODE_MIN=20

node_major() {
	local v
	v="$(node -p process.versions.node 2>/dev/null)" || return 1
	echo "${v%%.*}"
}

node_ok() {
	local major
	major="$(node_major)" || return 1
	[[ "$major" -ge "$NODE_MIN" ]]
}

is_installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# npm as the invoking user under sudo, so node_modules/ and dist/ are not left
# owned by root in the user's checkout.
as_user() {
	if is_root && [[ -n "${SUDO_USER:-}" && "$SUDO_USER" != root ]]; then
		runuser -u "$SUDO_USER" -- "$@"
	else
		"$@"
	fi
}

# --- system packages -------------------------------------------------------
if [[ "$do_apt" -eq 1 ]]; then
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install the packages by hand and re-run with --no-apt"
	wanted=("${PACKAGES[@]}")
	# Only pull Debian's node when there is no usable one: it would clash with a
	# NodeSource/nvm install that is already fine.
	node_ok || wanted+=(nodejs npm)
	missing=()
	for p in "${wanted[@]}"; do
		is_installed "$p" || missing+=("$p")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		log "system packages: all present"
	else
		log "system packages: installing ${missing[*]}"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
else
	log "system packages: skipped (--no-apt)"
fi

# Debian's docker-registry runs a registry on :5000 as a service; the tests start their own
# on free ports, so the service is only in the way.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
	log "docker-registry: disabling the system service (tests run their own registries)"
	as_root systemctl disable --now docker-registry >/dev/null 2>&1 || warn "could not disable the docker-registry service"
fi

# Debian bookworm and Ubuntu 24.04 ship node 18, so apt alone may not be enough.
if ! node_ok; then
	die "node >= $NODE_MIN required (found: $(node_major 2>/dev/null || echo none)); install it from https://nodejs.org or NodeSource, then re-run"
fi
command -v npm >/dev/null 2>&1 || die "npm not found next to node $(node -p process.versions.node)"
log "node $(node -p process.versions.node), npm $(npm --version)"

# --- node dependencies -----------------------------------------------------
cd "$BERTH_REPO"
if [[ -f package-lock.json ]]; then
	# npm writes node_modules/.package-lock.json on every install; if it is newer
	# than both manifests, node_modules already matches and `npm ci` (which wipes
	# node_modules) would only cost time.
	if [[ node_modules/.package-lock.json -nt package-lock.json && node_modules/.package-lock.json -nt package.json ]]; then
		log "npm: node_modules up to date"
	else
		log "npm: npm ci"
		npm_log="$(mktemp)"
		if ! as_user npm ci --no-audit --no-fund >"$npm_log" 2>&1; then
			if ! grep -q 'in sync' "$npm_log"; then
				cat "$npm_log" >&2
				rm -f "$npm_log"
				die "npm ci failed"
			fi
			# A lockfile that has drifted from package.json makes `npm ci` refuse.
			# --no-save installs without rewriting package.json or the lockfile.
			grep '^npm error Missing' "$npm_log" | head -n 5 >&2 || true
			warn "package-lock.json is out of sync with package.json (fix: npm install, commit the lockfile); using npm install --no-save"
			as_user npm install --no-save --no-audit --no-fund
		else
			cat "$npm_log"
		fi
		rm -f "$npm_log"
	fi
else
	log "npm: no package-lock.json, npm install"
	as_user npm install --no-audit --no-fund
fi

if [[ "$do_build" -eq 1 ]]; then
	log "build: npm run build"
	as_user npm run --silent build
fi

# --- CLI on PATH -------------------------------------------------------------
target="$BERTH_REPO/bin/berth"
link=/usr/local/bin/berth
if [[ "$(readlink "$link" 2>/dev/null || true)" == "$target" ]]; then
	log "cli: $link already -> $target"
elif is_root || command -v sudo >/dev/null 2>&1; then
	as_root ln -sfn "$target" "$link"
	log "cli: linked $link -> $target"
else
	warn "cannot create $link without root; run $target directly"
fi

log "done"
