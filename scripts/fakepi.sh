#!/usr/bin/env bash
# Fake Raspberry Pis for tests: each is a network namespace with a veth link to this machine and
# its own real sshd inside. See /work/shared/design/TESTING.md ("Fake Pis: real sshd on this machine").
#
#   scripts/fakepi.sh up N DIR    create pi1..piN of a new run, state in DIR; prints nothing on stdout
#   scripts/fakepi.sh net DIR     print the run id X of DIR (its hosts use 10.X.0.0/16)
#   scripts/fakepi.sh down DIR    stop every sshd (and anything else) of DIR's run, delete it, rm DIR
#   scripts/fakepi.sh cut DIR K   take host K's link down (a network partition)
#   scripts/fakepi.sh heal DIR K  bring host K's link back up
#
# Needs root, iproute2, flock and openssh-server (/usr/sbin/sshd). Each `up` reserves its own run id
# X (fakepi-net.sh): two runs at once never share a namespace, a link or an address.
#
# Layout of host K (1 <= K <= 200) of run X:
#   this machine: apXvK   10.X.K.1/24     namespace apiary-X-piK: eth0  10.X.K.2/24, lo up
#   this machine also gets "unreachable 10.X.0.0/16 metric 4242" (the cut guard, see cmd_link)
#   sshd listens on 10.X.K.2:22 only; root logs in with DIR/id_ed25519 (key auth only).
#   DIR/known_hosts holds "10.X.K.2 <host key>" for every host; DIR/net holds X.
#   DIR/piK/opt   the host's remote install dir     DIR/piK/home  the host's APIARY_HOME
#   DIR/piK/ssh_host_ed25519_key, DIR/piK/sshd.pid, DIR/piK/sshd.log
#
# REACHING THE QUEEN FROM A FAKE PI: a namespace only has a route to its own /24, so a process in
# host K (a hive started over ssh) can reach this machine at 10.X.K.1 and nowhere else (not
# 127.0.0.1, which is the namespace's own loopback, nor another host's 10.X.J.1). So the queen
# must listen on 0.0.0.0 (or on every 10.X.K.1), and the hive in host K must be given
# ws://10.X.K.1:PORT as the queen's address — a different address for each host.
#
# AN ARM64 HOST: FAKEPI_ROOTFS_<K>=TARBALL (from scripts/arm64-rootfs.sh) makes host K an arm64 Pi:
# the tarball is unpacked into DIR/piK/rootfs, and its sshd chroots every session into it, so logins
# get the rootfs's arm64 bash and node (qemu-user, via binfmt_misc). Its install dir and home have
# the same paths inside the chroot as the other hosts' have here (DIR/piK/opt, DIR/piK/home), so
# they live at DIR/piK/rootfs/DIR/piK/{opt,home} on this machine. sshd refuses a chroot path with
# a world-writable component (/tmp), so it runs in a private mount namespace where DIR/piK is bound
# onto /srv; that namespace, its /proc and /dev mounts, vanish with the host's processes.
#
# PATH: the fake Pis share this machine's filesystem. sshd gives root sessions its compiled-in
# default PATH, which may not contain node (e.g. an nvm install); like a real Pi, a fake one must
# have node on PATH, so sshd is started with SetEnv PATH=<default PATH plus node's directory>.
set -euo pipefail

SSHD=/usr/sbin/sshd
MAX_HOSTS=200
MARKER=.apiary-fakepi   # DIR must contain this before `down` will delete DIR
# sshd's compiled-in PATH for sessions (Debian's OpenSSH: _PATH_STDPATH with sbin for root).
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() { echo "fakepi: $*" >&2; exit 1; }
log() { echo "fakepi: $*" >&2; }

usage() {
  cat >&2 <<'EOF'
usage: fakepi.sh up N DIR | net DIR | down DIR | cut DIR K | heal DIR K
EOF
  exit 2
}

check_k() {
  [[ "$1" =~ ^[1-9][0-9]*$ ]] && (( $1 <= MAX_HOSTS )) || die "host number must be 1..$MAX_HOSTS, got '$1'"
}

ssh_opts() { # ssh_opts DIR -> options for the ssh client that talk only to our fake Pis
  local dir=$1
  printf '%s\n' -F /dev/null -i "$dir/id_ed25519" -o IdentitiesOnly=yes -o IdentityAgent=none \
    -o UserKnownHostsFile="$dir/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=2 -o LogLevel=ERROR
}

# Is pid $1 running? A zombie counts as gone: sshd daemonizes, so its parent is PID 1, and
# PID 1 on this kind of VM reaps only now and then (a dead sshd stayed a zombie for ~1.3 s).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z ]]
}

# Is $1 a live process whose command is sshd? (guards against killing a recycled pid)
is_sshd() {
  local pid=$1 comm
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ "$comm" == sshd ]] && alive "$pid"
}

# Kill pid $1 with TERM, then KILL after ~3s; fail if it is still there.
kill_and_wait() {
  kill -TERM "$1" 2>/dev/null || return 0
  wait_gone 30 "$1" && return 0
  kill -KILL "$1" 2>/dev/null || true
  wait_gone 20 "$1"
}

# wait_gone TENTHS PID...: wait up to TENTHS/10 s until none of the pids is alive.
wait_gone() {
  local tenths=$1 i pid; shift
  for ((i = 0; i <= tenths; i++)); do
    for pid in "$@"; do
      if alive "$pid"; then
        (( i < tenths )) && sleep 0.1
        continue 2
      fi
    done
    return 0
  done
  return 1
}

# Stop the sshd of every host DIR knows, by pidfile.
kill_sshds() {
  local dir=$1 hostdir pid rc=0
  for hostdir in "$dir"/pi*; do
    [[ -f "$hostdir/sshd.pid" ]] || continue
    pid=$(cat "$hostdir/sshd.pid")
    if is_sshd "$pid"; then
      kill_and_wait "$pid" || { log "sshd $pid of ${hostdir##*/} would not die"; rc=1; }
    fi
    if is_sshd "$pid"; then log "sshd $pid of ${hostdir##*/} is still alive"; rc=1; fi
  done
  return $rc
}

# The run id X of DIR ("" when `up` failed before reserving one).
net_of() {
  local x
  x=$(cat "$1/net" 2>/dev/null) || return 0
  [[ "$x" =~ ^[0-9]+$ ]] || die "$1/net holds '$x', not a run id"
  echo "$x"
}

cmd_down() {
  local dir=$1 rc=0 x holder
  if [[ ! -d "$dir" ]]; then
    log "down: $dir does not exist, nothing to do"
    return 0
  fi
  dir=$(cd "$dir" && pwd)
  [[ -e "$dir/$MARKER" ]] || die "down: $dir is not a fake-Pi dir (no $MARKER); refusing to touch it"
  kill_sshds "$dir" || rc=1
  x=$(net_of "$dir")
  if [[ -n "$x" ]]; then
    read -r holder _ <"$RUNS_DIR/$x" 2>/dev/null || holder=
    if [[ -n "$holder" && "$holder" != "$dir" ]]; then
      # Only when this run was reclaimed and X reserved again by another run: not ours to touch.
      log "down: run $x now belongs to $holder, leaving it alone"
    else
      teardown_run "$x" "$dir" || rc=1
    fi
  fi
  if (( rc == 0 )); then
    rm -rf -- "$dir"
  else
    log "down: leaving $dir in place because cleanup failed"
  fi
  return $rc
}

# The PATH ssh sessions get: sshd's default, plus node's directory if node is not already on it.
# FAKEPI_PATH_<K> overrides one host's session PATH (tests: a host without node, or with an old one).
hostpath() {
  local var="FAKEPI_PATH_$1"
  echo "${!var:-$path}"
}

session_path() {
  local node nodedir
  node=$(command -v node || true)
  [[ -n "$node" ]] || { echo "$DEFAULT_PATH"; return; }
  nodedir=$(dirname "$node")
  case ":$DEFAULT_PATH:" in
    *":$nodedir:"*) echo "$DEFAULT_PATH" ;;
    *) echo "$nodedir:$DEFAULT_PATH" ;;
  esac
}

UP_DIR=
up_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if (( rc != 0 )) && [[ -n "$UP_DIR" ]]; then
    log "up failed (exit $rc); tearing down what was created"
    cmd_down "$UP_DIR" || true
  fi
  exit $rc
}

cmd_up() {
  local n=$1 dir=$2 k x ns link hostdir path
  [[ "$n" =~ ^[1-9][0-9]*$ ]] && (( n <= MAX_HOSTS )) || die "N must be 1..$MAX_HOSTS, got '$n'"
  [[ -x "$SSHD" ]] || die "$SSHD not found (apt-get install -y openssh-server)"
  command -v ip >/dev/null || die "ip not found (apt-get install -y iproute2)"
  command -v flock >/dev/null || die "flock not found (apt-get install -y util-linux)"
  (( $(id -u) == 0 )) || die "must run as root (network namespaces)"

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # sshd's -o parsing splits on whitespace, so paths with it would silently break HostKey etc.
  [[ "$dir" != *[[:space:]]* ]] || die "DIR must not contain whitespace: '$dir'"
  if [[ -n "$(ls -A "$dir")" && ! -e "$dir/$MARKER" ]]; then
    die "$dir is not empty and not a fake-Pi dir"
  fi
  # Stale state in DIR from an earlier run: remove it first.
  if [[ -e "$dir/$MARKER" ]]; then
    cmd_down "$dir"
    mkdir -p "$dir"
  fi
  : >"$dir/$MARKER"
  UP_DIR=$dir
  trap up_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  x=$(with_lock reserve_net "$dir")
  echo "$x" >"$dir/net"

  mkdir -p /run/sshd   # sshd's privilege-separation dir
  chmod 0755 /run/sshd

  ssh-keygen -q -t ed25519 -N '' -C apiary-fakepi-client -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  chmod 0600 "$dir/authorized_keys"
  : >"$dir/known_hosts"
  path=$(session_path)

  for ((k = 1; k <= n; k++)); do
    ns=$(ns_name "$x" "$k"); link=$(link_name "$x" "$k"); hostdir="$dir/pi$k"
    mkdir -p "$hostdir/opt" "$hostdir/home"

    ip netns add "$ns"
    # The peer is created directly inside the namespace, so it can be called eth0 like on a Pi.
    ip link add "$link" type veth peer name eth0 netns "$ns"
    ip link set "$link" alias "$dir"          # for whoever reads `ip link`: whose host this is
    ip addr add "10.$x.$k.1/24" dev "$link"
    ip link set "$link" up
    ip -n "$ns" addr add "10.$x.$k.2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up

    ssh-keygen -q -t ed25519 -N '' -C "apiary-fakepi-pi$k" -f "$hostdir/ssh_host_ed25519_key"
    echo "10.$x.$k.2 $(cut -d' ' -f1,2 "$hostdir/ssh_host_ed25519_key.pub")" >>"$dir/known_hosts"

    local rootfs_var="FAKEPI_ROOTFS_$k"
    if [[ -n "${!rootfs_var:-}" ]]; then
      start_chroot_sshd "$dir" "$x" "$k" "${!rootfs_var}"
      continue
    fi
    # -f /dev/null: no system config at all, only what is given here.
    # StrictModes no: DIR is under /tmp (world-writable), which StrictModes rejects for
    # AuthorizedKeysFile. Subsystem sftp: scp (SFTP protocol since OpenSSH 9) and sftp uploads.
    ip netns exec "$ns" "$SSHD" -f /dev/null -E "$hostdir/sshd.log" \
      -o ListenAddress="10.$x.$k.2" -o Port=22 \
      -o HostKey="$hostdir/ssh_host_ed25519_key" \
      -o PidFile="$hostdir/sshd.pid" \
      -o UsePAM=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
      -o PermitRootLogin=prohibit-password -o PubkeyAuthentication=yes \
      -o AuthorizedKeysFile="$dir/authorized_keys" -o StrictModes=no \
      -o PrintMotd=no -o PrintLastLog=no -o UseDNS=no \
      -o "Subsystem=sftp internal-sftp" \
      -o SetEnv="PATH=$(hostpath "$k")" \
      -o LogLevel=VERBOSE
  done

  # Wait (bounded) until each sshd lets us in with our key and the host key we recorded.
  local -a opts
  mapfile -t opts < <(ssh_opts "$dir")
  for ((k = 1; k <= n; k++)); do
    local tries=0
    until ssh "${opts[@]}" "root@10.$x.$k.2" true </dev/null; do
      (( ++tries < 50 )) || die "sshd of pi$k did not accept connections (see $dir/pi$k/sshd.log)"
      sleep 0.1
    done
  done
  UP_DIR=
  trap - EXIT INT TERM
  log "up: $n fake Pi(s) in $dir, run $x (10.$x.0.0/16)"
}

# Host K of run X as an arm64 Pi: TARBALL unpacked into DIR/piK/rootfs, sshd chrooted into it.
CHROOT_PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
start_chroot_sshd() {
  local dir=$1 x=$2 k=$3 tarball=$4 hostdir ns
  hostdir="$dir/pi$k"; ns=$(ns_name "$x" "$k")
  [[ -s "$tarball" ]] || die "FAKEPI_ROOTFS_$k: no tarball at '$tarball' (scripts/arm64-rootfs.sh ensure)"
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || die "qemu-aarch64 is not registered with binfmt_misc (scripts/arm64-rootfs.sh binfmt)"
  mkdir -p "$hostdir/rootfs"
  chmod 0755 "$hostdir" "$hostdir/rootfs"
  tar -C "$hostdir/rootfs" --zstd -xf "$tarball"
  # The host's install dir and home at the same paths inside as the other hosts have outside.
  mkdir -p "$hostdir/rootfs$hostdir/opt" "$hostdir/rootfs$hostdir/home"
  # Run inside the host's network namespace and a private mount namespace: the binds are seen by
  # this sshd and its sessions only, and go away with them (no unmount needed at `down`).
  cat >"$hostdir/start.sh" <<START
set -e
mount --bind '$hostdir' /srv
mount -t proc proc /srv/rootfs/proc
mount --rbind /dev /srv/rootfs/dev
exec '$SSHD' -f /dev/null -E '$hostdir/sshd.log' \\
  -o ListenAddress=10.$x.$k.2 -o Port=22 \\
  -o HostKey='$hostdir/ssh_host_ed25519_key' -o PidFile='$hostdir/sshd.pid' \\
  -o UsePAM=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \\
  -o PermitRootLogin=prohibit-password -o PubkeyAuthentication=yes \\
  -o AuthorizedKeysFile='$dir/authorized_keys' -o StrictModes=no \\
  -o PrintMotd=no -o PrintLastLog=no -o UseDNS=no \\
  -o 'Subsystem=sftp internal-sftp' -o ChrootDirectory=/srv/rootfs \\
  -o SetEnv=PATH=$CHROOT_PATH -o LogLevel=VERBOSE
START
  ip netns exec "$ns" unshare -m --propagation private bash "$hostdir/start.sh"
}

cmd_link() { # cmd_link DIR K up|down
  local x link
  [[ -e "$1/$MARKER" ]] || die "$1 is not a fake-Pi dir"
  check_k "$2"
  x=$(net_of "$1")
  [[ -n "$x" ]] || die "$1 has no run id (did up succeed?)"
  link=$(link_name "$x" "$2")
  ip link show "$link" >/dev/null 2>&1 || die "no such fake Pi link $link"
  # Cut guard: while the link is down its connected route is gone, and without the run's
  # "unreachable 10.X.0.0/16" route, traffic to 10.X.K.2 would follow the default route out of this
  # machine (seen here: the upstream gateway even accepted the TCP connection). With it, a connect
  # fails at once with EHOSTUNREACH; while the link is up, its /24 is the longer match.
  [[ "$3" == up ]] || guard_exists "$x" || die "guard route of run $x is missing; refusing to cut (traffic would leak to the default route)"
  ip link set "$link" "$3"
}

cmd_net() {
  [[ -e "$1/$MARKER" ]] || die "$1 is not a fake-Pi dir"
  local x
  x=$(net_of "$1")
  [[ -n "$x" ]] || die "$1 has no run id (did up succeed?)"
  echo "$x"
}

# shellcheck source=fakepi-net.sh
source "$(dirname "${BASH_SOURCE[0]}")/fakepi-net.sh"

main() {
  (( $# >= 1 )) || usage
  case "$1" in
    up)   (( $# == 3 )) || usage; cmd_up "$2" "$3" ;;
    net)  (( $# == 2 )) || usage; cmd_net "$2" ;;
    down) (( $# == 2 )) || usage; cmd_down "$2" ;;
    cut)  (( $# == 3 )) || usage; cmd_link "$2" "$3" down ;;
    heal) (( $# == 3 )) || usage; cmd_link "$2" "$3" up ;;
    *) usage ;;
  esac
}

main "$@"
