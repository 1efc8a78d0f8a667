#!/usr/bin/env bash
# Base images for berth's tests and README, made from Debian packages only (no
# registry needed), cached as rootfs tars under ${BERTH_CACHE:-<repo>/.cache}/images/.
#
#   scripts/base-images.sh build [--force] [--only busybox|debian]
#   scripts/base-images.sh load  [--force] [--only busybox|debian]
#
#   build   make the missing tars (--force: rebuild them)
#             busybox.tar               busybox-static + applet symlinks   (~1 s)
#             debian-bookworm-slim.tar  debootstrap minbase, slimmed       (~1 min)
#   load    build if missing, then `berth import` each one into the running
#           daemon as busybox:latest / debian:bookworm-slim, skipping images
#           the daemon already has (--force: rebuild and re-import).
#           $BERTH overrides the berth command
#           (default <repo>/bin/berth); BERTH_HOST is passed through the env.
#
# The debian mirror comes from the host's apt sources (first bookworm main),
# else http://deb.debian.org/debian; BERTH_DEBIAN_MIRROR overrides it.
# debootstrap needs root.
set -euo pipefail

LOG_TAG=base-images
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"

# Help text = the comment block at the top of this file.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

SUITE=bookworm
DEFAULT_MIRROR=http://deb.debian.org/debian
DEFAULT_SECURITY_MIRROR=http://deb.debian.org/debian-security
IMAGES="${BERTH_CACHE:-$BERTH_REPO/.cache}/images"
# Word-split so BERTH="node /path/bin/berth" or BERTH="docker -H ..." also work.
read -r -a BERTH_CMD <<<"${BERTH:-$BERTH_REPO/bin/berth}"

# Predictable modes in the tars whatever the caller's umask is.
umask 022

# --- arguments ---------------------------------------------------------------
cmd=""
force=0
only=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	build | load)
		[[ -z "$cmd" ]] || die "only one subcommand allowed"
		cmd="$1"
		;;
	--force) force=1 ;;
	--only)
		[[ $# -ge 2 ]] || die "--only needs an argument (busybox or debian)"
		only="$2"
		shift
		;;
	--only=*) only="${1#--only=}" ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac
	shift
done
[[ -n "$cmd" ]] || {
	usage >&2
	exit 2
}
case "$only" in
"") IMAGE_NAMES=(busybox debian) ;;
busybox | debian) IMAGE_NAMES=("$only") ;;
*) die "--only: unknown image '$only' (busybox or debian)" ;;
esac

# name -> tar file, image reference, default command
tar_of() {
	case "$1" in
	busybox) echo "$IMAGES/busybox.tar" ;;
	debian) echo "$IMAGES/debian-$SUITE-slim.tar" ;;
	esac
}
ref_of() {
	case "$1" in
	busybox) echo "busybox:latest" ;;
	debian) echo "debian:$SUITE-slim" ;;
	esac
}
cmd_of() {
	case "$1" in
	busybox) echo '["sh"]' ;;
	debian) echo '["bash"]' ;;
	esac
}

# --- temp dirs and cleanup ---------------------------------------------------
TMP_DIRS=()

# debootstrap mounts proc/sys (and may bind /dev) inside the target; an
# interrupted run can leave them mounted, so unmount before deleting anything.
umount_under() {
	local m
	awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
}

cleanup() {
	local d
	for d in "${TMP_DIRS[@]}"; do
		[[ -d "$d" ]] || continue
		umount_under "$d"
		# --one-file-system: never follow a leftover mount into the host.
		rm -rf --one-file-system -- "$d"
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Temp dir on the same filesystem as the cache so the final `mv` is atomic.
# Sets TMP rather than printing it: a $(...) subshell would lose the
# TMP_DIRS entry that cleanup relies on.
TMP=""
new_tmp() {
	TMP="$(mktemp -d "$IMAGES/.tmp.XXXXXX")"
	TMP_DIRS+=("$TMP")
}

# Tar a rootfs with entries named "bin/...", not "./bin/...", like `docker
# export`; extra args (e.g. --owner=0) go to tar.
pack() {
	local dir="$1" out="$2"
	shift 2
	(cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\0' | LC_ALL=C sort -z) |
		tar --numeric-owner --sort=name "$@" --null -C "$dir" -T - -cf "$out"
}

human_size() { numfmt --to=iec --suffix=B "$(stat -c %s "$1")"; }

# --- busybox -----------------------------------------------------------------
build_busybox() {
	local out="$1" tmp root bb applet
	# The dynamic `busybox` package would need libc in the image: insist on the
	# static one.
	bb="$(dpkg-query -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || true)"
	[[ -n "$bb" && -x "$bb" ]] || die "busybox-static is not installed (run scripts/install.sh)"

	new_tmp
	tmp="$TMP"
	root="$tmp/rootfs"
	mkdir -p "$root"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,var}
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
	install -m 0755 "$bb" "$root/bin/busybox"
	# Relative links (not `busybox --install -s`, which writes absolute
	# /bin/busybox links that point at the host when inspected from outside).
	while IFS= read -r applet; do
		[[ -n "$applet" && "$applet" != busybox && ! -e "$root/bin/$applet" ]] || continue
		ln -s busybox "$root/bin/$applet"
	done < <("$bb" --list)
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
	chmod 0644 "$root/etc/passwd" "$root/etc/group"

	pack "$root" "$tmp/out.tar" --owner=0 --group=0
	mv -f "$tmp/out.tar" "$out"
}

# --- debian ------------------------------------------------------------------
# Apt source files in apt's own reading order.
apt_source_files() {
	local f
	[[ -f /etc/apt/sources.list ]] && echo /etc/apt/sources.list
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f "$f" ]] && echo "$f"
	done | LC_ALL=C sort
	return 0
}

# First URI serving <suite> with component main, from one-line (.list) and
# deb822 (.sources) files; only schemes debootstrap can fetch from.
find_mirror() {
	local suite="$1" f uri
	while IFS= read -r f; do
		if [[ "$f" == *.sources ]]; then
			uri="$(awk -v suite="$suite" '
				function has(list, w,   n, a, k) {
					n = split(list, a, /[ \t]+/)
					for (k = 1; k <= n; k++) if (a[k] == w) return 1
					return 0
				}
				BEGIN { RS = ""; FS = "\n" }
				{
					delete kv; key = ""
					for (i = 1; i <= NF; i++) {
						line = $i
						if (line ~ /^#/) continue
						if (line ~ /^[ \t]/) { if (key != "") kv[key] = kv[key] " " line; continue }
						p = index(line, ":"); if (!p) continue
						key = tolower(substr(line, 1, p - 1)); kv[key] = substr(line, p + 1)
					}
					if (tolower(kv["enabled"]) ~ /no/) next
					if (!has(kv["types"], "deb") || !has(kv["suites"], suite) || !has(kv["components"], "main")) next
					n = split(kv["uris"], u, /[ \t]+/)
					for (j = 1; j <= n; j++) if (u[j] ~ /^(https?|ftp|file):\/\//) { print u[j]; exit }
				}' "$f")"
		else
			uri="$(awk -v suite="$suite" '
				{ sub(/#.*/, ""); gsub(/\[[^]]*\]/, ""); $0 = $0 }
				$1 == "deb" && $3 == suite && $2 ~ /^(https?|ftp|file):\/\// {
					for (i = 4; i <= NF; i++) if ($i == "main") { print $2; exit }
				}' "$f")"
		fi
		if [[ -n "$uri" ]]; then
			echo "${uri%/}"
			return 0
		fi
	done < <(apt_source_files)
	return 1
}

build_debian() {
	local out="$1" tmp root mirror security t0
	is_root || die "debootstrap needs root (run as root or with sudo)"
	command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (run scripts/install.sh)"

	mirror="${BERTH_DEBIAN_MIRROR:-$(find_mirror "$SUITE" || echo "$DEFAULT_MIRROR")}"
	mirror="${mirror%/}"
	# Security updates: the host's own security mirror if it has one; the public
	# one only alongside the public main mirror (a private mirror may be all the
	# container can reach, and an unreachable source makes `apt-get update` fail).
	security="$(find_mirror "$SUITE-security" || true)"
	if [[ -z "$security" && "$mirror" == "$DEFAULT_MIRROR" ]]; then
		security="$DEFAULT_SECURITY_MIRROR"
	fi

	new_tmp
	tmp="$TMP"
	root="$tmp/rootfs"
	log "debian: debootstrap --variant=minbase $SUITE from $mirror (about a minute)"
	t0="$(date +%s)"
	if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
		tail -n 30 "$tmp/debootstrap.log" >&2
		[[ -f "$root/debootstrap/debootstrap.log" ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
		die "debian: debootstrap failed"
	fi
	log "debian: debootstrap done in $(elapsed_since "$t0"); slimming"

	# The same trimming Docker's debian:*-slim images get.
	rm -rf "${root:?}"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
	rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	# Backup files dpkg/debconf leave behind.
	rm -f "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
	# Keep later `apt-get install`s in the image slim too (as the slim image does).
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<-'EOF'
		# keep the image slim: no docs, man pages or translations
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/groff/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-include /usr/share/locale/locale.alias
		path-exclude /usr/share/lintian/*
		path-exclude /usr/share/linda/*
	EOF
	# debootstrap copied the host's resolv.conf/hostname; the runtime provides
	# both, and host details do not belong in an image. Device nodes likewise:
	# the runtime mounts /dev, and Docker images ship it empty.
	: >"$root/etc/resolv.conf"
	: >"$root/etc/hostname"
	chmod 0644 "$root/etc/resolv.conf" "$root/etc/hostname"
	rm -rf "${root:?}"/dev/*

	# deb822 sources like the official image, on the same mirror we built from.
	rm -f "$root/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$mirror" "$SUITE" "$SUITE"
		if [[ -n "$security" ]]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				"$security" "$SUITE"
		fi
	} >"$root/etc/apt/sources.list.d/debian.sources"

	# Not --owner=0: unlike busybox, a real Debian tree has non-root groups
	# (e.g. /etc/shadow is root:shadow) that must survive.
	pack "$root" "$tmp/out.tar"
	mv -f "$tmp/out.tar" "$out"
}

# --- subcommands -------------------------------------------------------------
build_one() {
	local name="$1" out t0
	out="$(tar_of "$name")"
	if [[ -f "$out" && "$force" -eq 0 ]]; then
		log "$name: cached $out ($(human_size "$out"))"
		return 0
	fi
	t0="$(date +%s)"
	"build_$name" "$out"
	log "$name: built $out ($(human_size "$out")) in $(elapsed_since "$t0")"
}

load_one() {
	local name="$1" ref tar
	ref="$(ref_of "$name")"
	tar="$(tar_of "$name")"
	if [[ "$force" -eq 0 ]] && "${BERTH_CMD[@]}" image inspect "$ref" >/dev/null 2>&1; then
		log "$name: $ref already in the daemon"
		return 0
	fi
	log "$name: importing $ref"
	"${BERTH_CMD[@]}" import --change "CMD $(cmd_of "$name")" "$tar" "$ref" >/dev/null ||
		die "$name: '${BERTH_CMD[*]} import' failed (is the daemon running? BERTH_HOST=${BERTH_HOST:-default})"
}

mkdir -p "$IMAGES"
# Concurrent runs (parallel test jobs) would race on the same tars.
exec 9>"$IMAGES/.lock"
if ! flock -n 9; then
	log "waiting for another base-images run to finish"
	flock 9
fi
# Holding the lock, any temp dir left is from a run that was SIGKILLed.
for stale in "$IMAGES"/.tmp.*; do
	if [[ -d "$stale" ]]; then TMP_DIRS+=("$stale"); fi
done
cleanup
TMP_DIRS=()

for name in "${IMAGE_NAMES[@]}"; do
	build_one "$name"
done
if [[ "$cmd" == load ]]; then
	for name in "${IMAGE_NAMES[@]}"; do
		load_one "$name"
	done
fi
