/**
 * The BPF datapath (`--ipc bpf`, docs/bpf.md) inside the kernel rig's Debian 6.1 VM: the
 * pre-6.10 `cong_control(sk, rs)` object, loaded by the prebuilt loader (CO-RE, BTF) on a kernel
 * without struct_ops links. The same checks as test/bpf/tcp.test.ts on the host, on the rig's
 * emulated link: const's exact cwnd and pacing in ss, reno and cubic controlling real flows,
 * close events, fallback when the agent is killed. ccp-cong stays loaded (the rig's default
 * congestion control); the scenario makes `portus` the default while an agent runs and switches
 * back to `ccp` before stopping it.
 *
 * Each check passes or fails on its own and the scenario's output lists all of them, so one run
 * records the state of every part (docs/bpf.md, "On Linux 6.1").
 * @module
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  agent,
  assertAllClosed,
  assertCwndFollows,
  assertNoProblems,
  assertReports,
  created,
  dense,
  flow,
  kernelReductions,
  linkCmd,
  payloadCapacityBps,
  reductions,
  samples,
  type Link,
} from './rig/checks.ts';
import type { FlowResult, ScenarioResult } from './rig/results.ts';
import { progress } from './rig/prepare.ts';
import { ensureBuilt } from '../bpf/net.ts';

/** The rig's default link (tests/kernel/scenarios.ts LINK), repeated to keep this file standalone. */
const LINK: Link = { rateMbit: 5, rttMs: 40, bufferBytes: 25_000, lossPercent: 0 };
const LOSSY: Link = { ...LINK, lossPercent: 1 };
const SECONDS = 5;
const IPERF = '-O 1';

const mbit = (bps: number): string => `${(bps / 1e6).toFixed(2)} Mbit/s`;

function readText(r: ScenarioResult, file: string): string {
  try {
    return readFileSync(join(r.dir, file), 'utf8');
  } catch {
    return '';
  }
}

/** `key=value` lines. */
function facts(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/**
 * Every ss sample of the flow's data connection runs `portus`. A flow the BPF agent saw a CREATE
 * for runs it anyway (only `portus` talks to that agent), so a flow with no ss sample at all
 * (each is a process start, and a starved VM may fit none into a 5 s flow) passes, and says so.
 */
function assertOnPortus(f: FlowResult): string {
  const ss = samples(f);
  const other = ss.filter((s) => s.cc !== 'portus').map((s) => s.cc);
  assert.deepEqual(other, [], `flow '${f.name}': samples on other congestion control than portus`);
  return ss.length > 0 ? '' : ' (no ss sample: on portus by its CREATE)';
}

/** Run the agent `name` with `args` on `--ipc bpf`, `portus` the default meanwhile; switch back before stopping it. */
function withBpfAgent(name: string, args: string, body: string): string {
  return `
      AGENT_IPC=bpf agent_start ${name} ${args}
      cat /proc/sys/net/ipv4/tcp_available_congestion_control > "$OUT/$SCENARIO/${name}.available"
      sysctl -qw net.ipv4.tcp_congestion_control=portus
      ${body.trim()}
      sysctl -qw net.ipv4.tcp_congestion_control=ccp
      agent_stop`;
}

// The const agent also serves the fallback check: a long flow under it, the agent SIGKILLed
// mid-flow (one BPF load fewer: each costs seconds of verifier time under emulation).
const script = `
      bpf_facts "$OUT/$SCENARIO/kernel.facts"
      say "  $(tr '\\n' ' ' < "$OUT/$SCENARIO/kernel.facts")"
      ${linkCmd(LINK)}
      AGENT_IPC=bpf agent_start const const --param rate=3 --param cwnd_cap=40
      cat /proc/sys/net/ipv4/tcp_available_congestion_control > "$OUT/$SCENARIO/const.available"
      bpftool struct_ops list > "$OUT/$SCENARIO/struct_ops.txt" 2>&1 || true
      sysctl -qw net.ipv4.tcp_congestion_control=portus
      flow paced ${SECONDS + 1}
      flow_bg long 600
      sleep 3
      sysctl -qw net.ipv4.tcp_congestion_control=ccp
      agent_kill const
      sleep 1
      cat /proc/sys/net/ipv4/tcp_available_congestion_control > "$OUT/$SCENARIO/const.available-after"
      sleep 4
      flow_stop long
      for alg in reno cubic; do
        ${linkCmd(LINK)}
        sysctl -qw net.ipv4.tcp_congestion_control=$alg
        flow $alg-native ${SECONDS} ${IPERF}
        sysctl -qw net.ipv4.tcp_congestion_control=ccp
        ${withBpfAgent(
          '$alg',
          '$alg',
          `flow $alg-clean ${SECONDS} ${IPERF}
        ${linkCmd(LOSSY)}
        flow $alg-lossy ${SECONDS} ${IPERF}`,
        )}
      done`;

/** const: ss shows exactly the agent's cwnd and pacing rate on the flow's socket. */
function checkConst(r: ScenarioResult): string {
  const a = agent(r, 'const');
  const f = flow(r, 'paced');
  const c = created(a, f, r);
  const note = assertOnPortus(f);
  assert.equal(a.rate.get(c.id)?.at(-1)?.value, 375_000, 'agent sent Rate = 3 Mbit/s in bytes/s');
  assert.equal(a.cwnd.get(c.id)?.at(-1)?.value, 60_000, 'agent sent Cwnd = 40 × 1500 bytes');
  // Until the agent's CHANGE_PROG lands (next ACK after it), the datapath runs its own window
  // and the kernel's pacing formula: skip the samples before the first exact one, then every
  // sample must be exact.
  const all = samples(f);
  const exactly = (s: (typeof all)[number]): boolean =>
    s.cwnd === Math.floor(60_000 / s.mss) && s.pacingRate === 3e6;
  const lead = all.findIndex(exactly);
  assert.ok(
    lead >= 0,
    `no ss sample shows cwnd 41 and pacing 3 Mbit/s: ${all.map((s) => `${s.cwnd}/${s.pacingRate}`)}`,
  );
  const ss = all.slice(lead);
  const bad = ss.filter((s) => !exactly(s));
  assert.deepEqual(
    bad.map((s) => `cwnd:${s.cwnd} pacing:${s.pacingRate}`),
    [],
    'samples differing from cwnd 41 / pacing 3 Mbit/s after the first exact one',
  );
  // The dense samples (precise times; ss's are stamped before a slow ss run): once the kernel's
  // cwnd is the agent's, it stays exactly that.
  const want = Math.floor(60_000 / c.mss);
  const all2 = dense(f);
  const d = all2.slice(
    Math.max(
      0,
      all2.findIndex((s) => s.cwnd === want),
    ),
  );
  assert.ok(d.length >= 5 && d[0]!.cwnd === want, `only ${d.length} cwnd samples at the agent's ${want}`);
  assert.deepEqual(
    d.filter((s) => s.cwnd !== want).map((s) => s.cwnd),
    [],
    `kernel cwnd differs from ${want}`,
  );
  const got = f.iperf.receivedBps;
  assert.ok(got <= 3e6 * 1.02, `paced flow moved ${mbit(got)}, more than the 3 Mbit/s pacing rate`);
  assert.ok(got >= 1e6, `paced flow moved only ${mbit(got)}`);
  return `${mbit(got)}${note}; ${ss.length}/${all.length} ss samples exactly cwnd ${want} + pacing 3 Mbit/s, ${d.length} dense samples all ${want}`;
}

/** reno/cubic: reports, the kernel follows the agent's Cwnd, cuts on loss, throughput. */
function checkWindow(r: ScenarioResult, alg: string, factor: number): string {
  const a = agent(r, alg);
  const out: string[] = [];
  for (const kind of ['clean', 'lossy']) {
    const f = flow(r, `${alg}-${kind}`);
    const c = created(a, f, r);
    const reports = assertReports(a, c, 20);
    const note = assertOnPortus(f);
    const follow = assertCwndFollows(a, c, dense(f));
    let extra = '';
    if (kind === 'lossy') {
      assert.ok(f.drops > 0, `flow '${f.name}': no drops at the bottleneck`);
      const cuts = reductions(a, c, factor);
      assert.ok(cuts >= 1, `flow '${f.name}': ${f.drops} drops, but the agent never cut the window`);
      const kcuts = kernelReductions(dense(f), factor);
      assert.ok(kcuts >= 1, `flow '${f.name}': the agent cut ${cuts}×, the kernel's cwnd never fell`);
      extra = `, ${f.drops} drops, ${cuts} cuts`;
    } else {
      // As the ccp scenarios: ≥ 85 % of the link, or, when the emulated VM could not fill it
      // with Linux's own algorithm just before, ≥ 60 % of what that reached.
      const native = flow(r, `${alg}-native`).iperf.receivedBps;
      const cap = payloadCapacityBps(LINK);
      const got = f.iperf.receivedBps;
      if (native >= 0.85 * cap) {
        assert.ok(got >= 0.85 * cap, `${mbit(got)}: under 85% of ${mbit(cap)}`);
      } else {
        assert.ok(got >= 0.6 * native, `${mbit(got)}: under 60% of Linux's own ${alg} (${mbit(native)})`);
      }
      extra = `, ${Math.round((100 * got) / cap)}% of capacity (Linux's ${alg}: ${Math.round((100 * native) / cap)}%)`;
    }
    out.push(
      `${kind} ${mbit(f.iperf.receivedBps)}${note}, ${reports} reports, cwnd matched ${follow.matched}/${follow.total}${extra}`,
    );
  }
  return out.join('; ');
}

/** Seconds since the epoch at which the const agent was SIGKILLed. */
function killedAt(r: ScenarioResult): number {
  const t = Number(/killed ([\d.]+)/.exec(readText(r, 'const.killed'))?.[1] ?? NaN);
  assert.ok(Number.isFinite(t), 'the agent was not killed');
  return t;
}

/**
 * Agent killed mid-flow: the flow stays on portus, leaves const's window and pacing for the
 * datapath's fallback (Reno, the kernel's pacing formula) and keeps moving data.
 */
function checkFallback(r: ScenarioResult): string {
  const a = agent(r, 'const');
  const long = r.flows.get('long');
  assert.ok(long, 'the long flow did not run');
  const port = long.iperf.localPort || samples(long)[0]?.localPort;
  const c = a.created.find((x) => x.srcPort === port);
  assert.ok(c, `the agent never saw the long flow (port ${port})`);
  const killed = killedAt(r);
  const want = Math.floor(60_000 / c.mss);
  const mine = dense(long).filter((s) => s.localPort === port);
  const before = mine.filter((s) => s.t < killed);
  assert.ok(
    before.some((s) => s.cwnd === want),
    `before the kill the kernel never held const's ${want} segments: ${[...new Set(before.map((s) => s.cwnd))]}`,
  );
  // (ss stamps a sample before running ss, which is slow under emulation: only samples stamped
  // after the kill are known to have been read after it)
  const after = mine.filter((s) => s.t > killed + 0.5);
  const windows = [...new Set(after.map((s) => s.cwnd))];
  assert.ok(
    windows.some((w) => w !== want),
    `after the kill the window stayed at const's ${want} segments (no fallback): ${windows}`,
  );
  const ss = samples(long).filter((s) => s.t > killed);
  assert.ok(ss.length >= 1, 'no ss sample of the flow after the kill');
  assert.deepEqual(
    ss.filter((s) => s.cc !== 'portus').map((s) => s.cc),
    [],
    'the flow left portus after the agent was killed',
  );
  assert.ok(
    ss.some((s) => s.pacingRate !== 3e6),
    "after the kill the pacing rate stayed at const's 3 Mbit/s (no fallback pacing)",
  );
  assert.ok(ss.length >= 2, `${ss.length} ss samples of the flow after the kill (need 2)`);
  const moved = ss.at(-1)!.bytesAcked - ss[0]!.bytesAcked;
  const span = ss.at(-1)!.t - ss[0]!.t;
  // A stalled flow (stuck window, RTO backoff) moves a few segments in that time; the fallback
  // moves hundreds of kB on the 5 Mbit/s link. (iperf3's per-second intervals are no measure
  // here: a starved emulated VM shows empty seconds even for Linux's own algorithms.)
  assert.ok(
    moved * 8 >= 0.2e6 * span,
    `the flow moved only ${moved} bytes in the ${span.toFixed(1)} s after the kill`,
  );
  const gone = !/\bportus\b/.test(readText(r, 'const.available-after'));
  assert.ok(gone, 'portus still registered 1 s after the agent (and its loader) died');
  return (
    `after the kill: ${mbit((moved * 8) / span)} over ${span.toFixed(1)} s, cwnd ` +
    `${Math.min(...windows)}–${Math.max(...windows)} (fallback), portus unregistered`
  );
}

/** The kernel has what the datapath needs and the pre-6.10 object was registered. */
function checkKernel(r: ScenarioResult): string {
  const k = facts(readText(r, 'kernel.facts'));
  assert.equal(k.get('btf'), 'yes', 'no /sys/kernel/btf/vmlinux');
  assert.equal(
    k.get('btf_tcp_congestion_ops'),
    '2',
    'BTF lacks tcp_congestion_ops or its struct_ops wrapper',
  );
  const a = agent(r, 'const');
  const running = a.lines.find((l) => l.startsWith('portus: running'));
  assert.ok(running, 'the agent never ran');
  assert.match(
    running,
    /bpf:portus \(pre-6\.10\)/,
    'the loader did not pick the pre-6.10 cong_control object',
  );
  assert.match(
    readText(r, 'const.available'),
    /\bportus\b/,
    'portus not in tcp_available_congestion_control',
  );
  return `${k.get('kernel')}: BTF, struct_ops tcp_congestion_ops, ${/on (bpf:\S+ \([^)]*\))/.exec(running)?.[1]}`;
}

/** Close events: every flow an agent saw was closed by the datapath, and no agent logged problems. */
function checkClose(r: ScenarioResult): string {
  let n = 0;
  for (const name of ['const', 'reno', 'cubic']) {
    const a = agent(r, name);
    assert.ok(a.created.length >= 2, `agent ${name}: ${a.created.length} CREATEs`);
    // the const agent was killed under the long flow: only the flows before it count
    const start = name === 'const' ? (r.flows.get('long')?.start ?? Infinity) : Infinity;
    const ended = { ...a, created: a.created.filter((c) => c.t < start) };
    assertAllClosed(ended);
    assertNoProblems(a);
    n += ended.created.length;
  }
  return `${n} flows created, all closed by the datapath`;
}

/**
 * The `bpf-6.1` scenario. Every check runs; the result lines say PASS/FAIL per check and the
 * scenario fails if any failed.
 */
export const BPF_SCENARIO = {
  name: 'bpf-6.1',
  summary:
    '--ipc bpf on Linux 6.1 (pre-6.10 cong_control): exact const cwnd/pacing, reno/cubic control real flows, close events, fallback when the agent dies',
  script,
  prepareHost(): void {
    progress('BPF datapath: prebuilds/linux-x64 (npm run build:bpf when older than native/bpf)');
    ensureBuilt();
  },
  check(r: ScenarioResult): string[] {
    const checks: [string, () => string][] = [
      ['kernel', () => checkKernel(r)],
      ['const', () => checkConst(r)],
      ['reno', () => checkWindow(r, 'reno', 0.75)],
      ['cubic', () => checkWindow(r, 'cubic', 0.85)],
      ['close', () => checkClose(r)],
      ['fallback', () => checkFallback(r)],
    ];
    const lines: string[] = [];
    let failed = 0;
    for (const [name, run] of checks) {
      try {
        lines.push(`PASS ${name}: ${run()}`);
      } catch (e) {
        failed++;
        lines.push(`FAIL ${name}: ${(e as Error).message.split('\n').slice(0, 6).join(' ')}`);
      }
    }
    if (failed > 0) throw new Error(`${failed} of ${checks.length} checks failed:\n${lines.join('\n')}`);
    return lines;
  },
};
