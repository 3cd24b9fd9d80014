# Sourced by fakepi.sh: per-run network ids, their registry, and tearing a run's hosts down.
#
# Every `up` reserves a run id X (an octet, 100..254 but not 201) and uses only 10.X.0.0/16, namespaces
# apiary-X-piK and host-side links apXvK (at most 9 characters; Linux allows 15). So two runs at
# once on one machine (two test files, two CI jobs) never share a name or an address, and `down`
# touches only its own run's hosts.
#
# The reservation is made under an flock on $RUNS_DIR/lock, so two `up`s cannot pick the same X:
#   - X is free when nothing on this machine routes or holds an address in 10.X (ip route/addr),
#     no namespace apiary-X-* exists and no registry entry $RUNS_DIR/X exists;
#   - reserving writes $RUNS_DIR/X ("DIR OWNER_PID OWNER_START") and adds the run's guard route
#     "unreachable 10.X.0.0/16 metric 4242" (see cmd_link in fakepi.sh for why it is needed).
# A run whose owner process (FAKEPI_OWNER, default: the caller of fakepi.sh) has died without
# `down` (a crashed test) is reclaimed by the next `up`: its processes, links, namespaces, guard
# route, registry entry and DIR all go.

RUNS_DIR=/run/apiary-fakepi
NS_PREFIX=apiary-
GUARD_METRIC=4242
MIN_NET=100
MAX_NET=254

ns_name() { echo "$NS_PREFIX$1-pi$2"; }   # ns_name X K
link_name() { echo "ap$1v$2"; }            # link_name X K

ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

# Host numbers K of the namespaces that exist for run X.
run_hosts() {
  ip netns list | awk '{print $1}' | sed -n "s/^$NS_PREFIX$1-pi\([0-9][0-9]*\)\$/\1/p"
}

guard_exists() { ip -4 route show "10.$1.0.0/16" | grep -q "^unreachable .* metric $GUARD_METRIC"; }

# Start time (clock ticks since boot) of pid $1, "" if it is not running; guards against recycled pids.
start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # After "comm)": field 3 is the state; starttime is field 22, the 20th from here.
  awk '{ if ($1 != "Z") print $20 }' <<<"$stat"
}

# Is 10.X.0.0/16 free on this machine: no route, no address, no namespace of ours, no registry entry?
net_free() {
  local x=$1
  [[ ! -e "$RUNS_DIR/$x" ]] || return 1
  [[ -z "$(run_hosts "$x")" ]] || return 1
  ! { ip -4 route show table all; ip -4 -o addr show; } | grep -Eq "(^|[^0-9.])10\.$x\.[0-9]+\.[0-9]+"
}

# Kill every process in namespace $1: sshd, its sessions and whatever they started (hives, bees).
kill_ns_procs() {
  local ns=$1 round pid
  local -a pids
  for ((round = 0; round < 3; round++)); do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
    (( ${#pids[@]} )) || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait_gone 30 "${pids[@]}" && continue
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 20 "${pids[@]}" || true
  done
  mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
  for pid in "${pids[@]}"; do
    alive "$pid" && { log "processes in $ns would not die: ${pids[*]}"; return 1; }
  done
  return 0
}

# Tear down host K of run X: every process in the namespace, the link, the namespace. The link goes
# first: deleting a veth removes both ends at once, whereas the one a deleted namespace takes with
# it disappears asynchronously.
teardown_host() {
  local x=$1 k=$2 ns link ok=0
  ns=$(ns_name "$x" "$k"); link=$(link_name "$x" "$k")
  if ns_exists "$ns"; then
    kill_ns_procs "$ns" || ok=1
  fi
  if ip link show "$link" >/dev/null 2>&1; then
    ip link del "$link" || { log "could not delete link $link"; ok=1; }
  fi
  if ns_exists "$ns"; then
    ip netns del "$ns" || { log "could not delete namespace $ns"; ok=1; }
  fi
  if ns_exists "$ns"; then log "namespace $ns still exists"; ok=1; fi
  return $ok
}

# Tear down every host of run X (those DIR knows and any namespace of X), its guard route and its
# registry entry. Hosts DIR knows about may not exist any more (a failed `up`): that is fine.
teardown_run() {
  local x=$1 dir=$2 rc=0 k hostdir
  local -A hosts=()
  for k in $(run_hosts "$x"); do hosts[$k]=1; done
  for hostdir in "$dir"/pi*; do
    k=${hostdir##*/pi}
    [[ -d "$hostdir" && "$k" =~ ^[0-9]+$ ]] && hosts[$k]=1
  done
  for k in "${!hosts[@]}"; do teardown_host "$x" "$k" || rc=1; done
  if guard_exists "$x"; then
    ip route del unreachable "10.$x.0.0/16" metric "$GUARD_METRIC" || { log "could not delete the guard route of run $x"; rc=1; }
  fi
  (( rc == 0 )) && rm -f -- "$RUNS_DIR/$x"
  return $rc
}

# Under the lock: reclaim runs whose owner died without `down`.
reclaim_dead_runs() {
  local f x dir owner start
  for f in "$RUNS_DIR"/[0-9]*; do
    [[ -f "$f" ]] || continue
    x=${f##*/}
    read -r dir owner start <"$f" || true
    [[ -n "$owner" && "$(start_time "$owner")" == "$start" ]] && continue
    log "reclaiming run $x of $dir (its owner, pid ${owner:-?}, is gone)"
    kill_sshds "$dir"
    teardown_run "$x" "$dir" || { log "could not reclaim run $x"; continue; }
    [[ -e "$dir/$MARKER" ]] && rm -rf -- "$dir"
  done
}

# Under the lock: reserve a free X for DIR and print it.
reserve_net() {
  local dir=$1 owner=${FAKEPI_OWNER:-$PPID} start x
  mkdir -p "$RUNS_DIR"
  reclaim_dead_runs
  start=$(start_time "$owner")
  [[ -n "$start" ]] || die "owner pid $owner is not running"
  # Not 201: older copies of this script (other checkouts on this machine) use 10.201.K.0/24, and
  # may take it after we looked.
  for x in $(seq "$MIN_NET" 200) $(seq 202 "$MAX_NET"); do
    net_free "$x" || continue
    echo "$dir $owner $start" >"$RUNS_DIR/$x"
    ip route add unreachable "10.$x.0.0/16" metric "$GUARD_METRIC"
    echo "$x"
    return 0
  done
  die "no free 10.X.0.0/16 for X in $MIN_NET..$MAX_NET (see $RUNS_DIR)"
}

# Run "$@" holding the registry lock (fd 9 is closed again before anything long-lived starts).
with_lock() {
  mkdir -p "$RUNS_DIR"
  (
    flock -w 60 9 || die "could not take $RUNS_DIR/lock within 60 s"
    "$@"
  ) 9>"$RUNS_DIR/lock"
}
