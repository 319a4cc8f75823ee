# Helpers for the kernel rig's plan, sourced inside the VM (bash, chrooted into the host's root).
# The host writes plan.sh into the results share: it sets REPO, OUT and NODE, sources this file
# and calls these functions once per scenario. Every file a scenario produces lands in
# $OUT/<scenario>/; the host parses and asserts on them after the VM has powered off.
#
# Topology (all in this VM): the sender in the root namespace (c0, 10.9.1.1) -- router namespace
# "r" (r0 10.9.1.2, r1 10.9.2.1) -- receiver namespace "s" (s0, 10.9.2.2). The bottleneck is r1's
# egress (tbf rate + buffer, optional netem random loss before it); the propagation delay is on
# r0's egress (the ACK path), so drops happen in a real router queue, not in the sender's stack.

say() { echo "PORTUS-VM $*"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Build the three namespaces once.
topology() {
  ip netns add r && ip netns add s
  ip link add c0 type veth peer name r0 netns r
  ip -n r link add r1 type veth peer name s0 netns s
  ip addr add 10.9.1.1/24 dev c0 && ip link set c0 up
  ip route add 10.9.2.0/24 via 10.9.1.2
  ip -n r addr add 10.9.1.2/24 dev r0 && ip -n r addr add 10.9.2.1/24 dev r1
  ip -n r link set lo up && ip -n r link set r0 up && ip -n r link set r1 up
  ip netns exec r sysctl -qw net.ipv4.ip_forward=1
  ip -n s addr add 10.9.2.2/24 dev s0 && ip -n s link set s0 up && ip -n s link set lo up
  ip -n s route add default via 10.9.2.1
  # No offloads: segments on the bottleneck are real MTU-sized packets.
  for d in c0; do ethtool -K "$d" tso off gso off gro off >/dev/null 2>&1 || true; done
}

# link RATE_MBIT RTT_MS BUFFER_BYTES [LOSS_PERCENT]: (re)configure the bottleneck.
link() {
  local rate=$1 rtt=$2 buf=$3 loss=${4:-0}
  tc -n r qdisc del dev r0 root 2>/dev/null || true
  tc -n r qdisc del dev r1 root 2>/dev/null || true
  tc -n r qdisc add dev r0 root netem delay "${rtt}ms" limit 100000
  if [ "$loss" != 0 ]; then
    tc -n r qdisc add dev r1 root handle 1: netem loss "${loss}%" limit 100000
    tc -n r qdisc add dev r1 parent 1:1 handle 10: tbf rate "${rate}mbit" burst 3028 limit "$buf"
  else
    tc -n r qdisc add dev r1 root handle 10: tbf rate "${rate}mbit" burst 3028 limit "$buf"
  fi
  echo "rate_mbit=$rate rtt_ms=$rtt buffer_bytes=$buf loss_percent=$loss" > "$OUT/$SCENARIO/link-$(date +%s%N)"
}

# link_ecn RATE_MBIT RTT_MS CE_THRESHOLD_MS: the bottleneck of `link` with an ECN-marking queue
# under the tbf: fq_codel with `ecn` (CoDel marks ECT packets instead of dropping them) and
# `ce_threshold` (every ECT packet that waited longer than the threshold is marked CE: DCTCP's
# step marking at K). fq_codel is built into Debian's 6.1 kernel.
link_ecn() {
  local rate=$1 rtt=$2 ce=$3
  link "$rate" "$rtt" 100000
  tc -n r qdisc add dev r1 parent 10:1 handle 20: fq_codel ecn ce_threshold "${ce}ms" limit 1000
}

# agent_start NAME ALGORITHM [portus run options...]: start `portus run ALGORITHM --ipc netlink
# --debug` (log in NAME.log) and wait until it listens. AGENT_IPC=bpf selects another transport.
agent_start() {
  local name=$1 ipc=${AGENT_IPC:-netlink}
  shift
  local log="$OUT/$SCENARIO/$name.log" t0
  t0=$(now)
  say "  agent $name: portus run $* --ipc $ipc (starting)"
  "$NODE" "$REPO/bin/portus.js" run "$@" --ipc "$ipc" --debug --quiet > "$log" 2>&1 &
  AGENT_PID=$!
  echo "$AGENT_PID" > "$OUT/$SCENARIO/$name.pid"
  local waited=0
  until grep -q '^portus: running' "$log"; do
    if ! kill -0 "$AGENT_PID" 2>/dev/null; then
      say "  agent $name exited before listening"; tail -5 "$log"; return 1
    fi
    sleep 0.2; waited=$((waited + 1))
    if [ $waited -gt 3000 ]; then say "  agent $name: not listening after 600 s"; return 1; fi
  done
  say "  agent $name: listening after $(since "$t0") s"
}

# agent_stop: SIGTERM the running agent and wait for it.
agent_stop() {
  [ -n "${AGENT_PID:-}" ] || return 0
  kill -TERM "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=
}

# wait_closed NAME SECONDS: wait, at most SECONDS, until agent NAME's log shows a close by the
# datapath for every flow it saw created (the sender's sockets are destroyed only once their
# queued data and FIN are acknowledged). The sender's remaining sockets are snapshot into
# NAME.closing meanwhile, for the check to show what kept a flow open.
wait_closed() {
  local log="$OUT/$SCENARIO/$1.log" t0
  t0=$(now)
  while [ "$(grep -c ' CREATE sid=' "$log")" -gt "$(grep -c 'closed by the datapath' "$log")" ]; do
    { echo "@ $(now)"; ss -tinaH dst 10.9.2.2; } >> "$OUT/$SCENARIO/$1.closing"
    if [ "${EPOCHREALTIME%.*}" -ge $((${t0%.*} + $2)) ]; then
      say "  agent $1: flows still open after $(since "$t0") s"
      return 0
    fi
    sleep 0.25
  done
  say "  agent $1: every flow closed ($(since "$t0") s after the last flow ended)"
}

# ss_sampler FILE: `@ <epoch seconds>` + `ss -tinH` of the flows to the receiver, every ~200 ms
# (each ss is a process start, slow under emulation: these samples are sparse but complete).
ss_sampler() {
  while :; do
    echo "@ $(now)"
    ss -tinH dst 10.9.2.2
    sleep 0.2
  done > "$1"
}

# proc_sampler FILE: `@ <epoch seconds>` + "local remote state snd_cwnd" of the sender's sockets
# to ports 5201/5202 from /proc/net/tcp, every ~50 ms, with shell builtins only (no process per
# sample, so dense even under emulation).
proc_sampler() {
  local fifo fd
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  exec {fd}<>"$fifo"
  rm -f "$fifo"
  while :; do
    echo "@ $EPOCHREALTIME"
    while read -r _ l r st _ _ _ _ _ _ _ _ _ _ _ cwnd _; do
      case $r in *:1451 | *:1452) echo "$l $r $st $cwnd" ;; esac
    done < /proc/net/tcp
    read -r -t 0.05 -u "$fd" _ || true
  done > "$1"
}

# flow NAME SECONDS [iperf3 options...]: one iperf3 transfer through the bottleneck (sender here,
# receiver in "s"), sampled; results in NAME.json (iperf3 -J), NAME.ss, NAME.proc, NAME.tc.
flow() {
  local name=$1 secs=$2 port=${PORT:-5201}
  shift 2
  local dir="$OUT/$SCENARIO"
  say "  flow $name: ${secs} s"
  ip netns exec s iperf3 -s -1 -p "$port" > /dev/null 2>&1 &
  local srv=$!
  sleep 0.5
  tc -n r -s qdisc show dev r1 > "$dir/$name.tc-before"
  ss_sampler "$dir/$name.ss" &
  local smp=$!
  proc_sampler "$dir/$name.proc" &
  local pmp=$!
  echo "start $(now)" > "$dir/$name.times"
  iperf3 -c 10.9.2.2 -p "$port" -t "$secs" -J "$@" > "$dir/$name.json" 2> "$dir/$name.err" &
  local cli=$!
  echo "$cli" > "$dir/$name.client-pid"
  wait "$cli" || say "  flow $name: iperf3 exited with $?"
  echo "end $(now)" >> "$dir/$name.times"
  sleep 0.3
  kill "$smp" "$pmp" 2>/dev/null || true
  wait "$smp" "$pmp" 2>/dev/null || true
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  tc -n r -s qdisc show dev r1 > "$dir/$name.tc"
}

# flow_bg NAME SECONDS [iperf3 options...]: like flow, in the background, on port 5202;
# flow_stop NAME interrupts it (iperf3 still writes its JSON) and waits for it.
flow_bg() {
  PORT=5202 flow "$@" &
  BG_FLOW=$!
  until [ -s "$OUT/$SCENARIO/$1.client-pid" ]; do sleep 0.1; done
}
flow_stop() {
  kill -INT "$(cat "$OUT/$SCENARIO/$1.client-pid")" 2>/dev/null || true
  wait "$BG_FLOW" 2>/dev/null || true
}

# scenario NAME: begin a scenario (its directory, progress line).
scenario() {
  SCENARIO=$1
  mkdir -p "$OUT/$SCENARIO"
  SCENARIO_T0=$(now)
  say "scenario $SCENARIO"
}
scenario_end() {
  local rc=$1
  agent_stop
  dmesg > "$OUT/$SCENARIO/dmesg"
  echo "$rc" > "$OUT/$SCENARIO/status"
  say "scenario $SCENARIO done (exit $rc, $(since "$SCENARIO_T0") s)"
}

# agent_kill NAME: SIGKILL the running agent (no goodbye to the datapath), note the time in
# NAME.killed, and wait for it.
agent_kill() {
  [ -n "${AGENT_PID:-}" ] || return 0
  echo "killed $(now)" > "$OUT/$SCENARIO/$1.killed"
  kill -KILL "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=
}

# bpf_facts FILE: what the BPF datapath needs from this kernel, one `key=value` a line: BTF, the
# tcp_congestion_ops struct_ops type in it, the congestion controls available.
bpf_facts() {
  {
    echo "kernel=$(uname -r)"
    if [ -r /sys/kernel/btf/vmlinux ]; then echo "btf=yes"; else echo "btf=no"; fi
    local ops
    ops=$(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null | grep -c -E "STRUCT 'bpf_struct_ops_tcp_congestion_ops'|STRUCT 'tcp_congestion_ops'" || true)
    echo "btf_tcp_congestion_ops=$ops"
    echo "available=$(cat /proc/sys/net/ipv4/tcp_available_congestion_control)"
  } > "$1"
}
