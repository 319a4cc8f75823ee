/**
 * Assertions shared by the kernel scenarios. Each states what the kernel or the agent did and
 * fails with the evidence (values seen, tails of logs) so a CI failure is readable without the VM.
 * @module
 */
import assert from 'node:assert/strict';
import type { AgentLog, Created, FlowResult, ScenarioResult, Sent, SsSample } from './results.ts';

/** A bottleneck as `link` in vm/lib.sh configures it. */
export interface Link {
  rateMbit: number;
  rttMs: number;
  bufferBytes: number;
  lossPercent: number;
}

/** The `link` call for the plan. */
export function linkCmd(l: Link): string {
  return `link ${l.rateMbit} ${l.rttMs} ${l.bufferBytes} ${l.lossPercent}`;
}

/** The agent log `name` of a scenario (fails if it is missing). */
export function agent(r: ScenarioResult, name: string): AgentLog {
  const a = r.agents.get(name);
  assert.ok(a, `no agent log '${name}' in ${r.dir} (files: ${[...r.agents.keys()].join(', ')})`);
  return a;
}

/** The flow `name` of a scenario, which must have completed its iperf3 run. */
export function flow(r: ScenarioResult, name: string): FlowResult {
  const f = r.flows.get(name);
  assert.ok(f, `flow '${name}' did not run (see ${r.dir})`);
  assert.ok(f.iperf.localPort > 0, `flow '${name}': iperf3 produced no result (${f.iperf.error ?? ''})`);
  return f;
}

/** The CREATE of the flow's data connection (matched by its local port). */
export function created(a: AgentLog, f: FlowResult, r: ScenarioResult): Created {
  const c = a.created.find((x) => x.srcPort === f.iperf.localPort);
  assert.ok(
    c,
    `the agent saw no CREATE for flow '${f.name}' (local port ${f.iperf.localPort}); CREATEs: ` +
      `${JSON.stringify(a.created.map((x) => x.srcPort))}; dmesg tail:\n${r.dmesg.split('\n').slice(-15).join('\n')}`,
  );
  return c;
}

/** The ss samples of the flow's data connection. */
export function samples(f: FlowResult): SsSample[] {
  return f.ss.filter((s) => s.localPort === f.iperf.localPort);
}

/** The dense (/proc/net/tcp) cwnd samples of the flow's data connection. */
export function dense(f: FlowResult): SsSample[] {
  return f.proc.filter((s) => s.localPort === f.iperf.localPort);
}

/** Every ss sample of the flow's data connection shows congestion control `ccp`. */
export function assertOnCcp(f: FlowResult): void {
  const ss = samples(f);
  assert.ok(ss.length > 0, `flow '${f.name}': no ss samples`);
  const other = ss.filter((s) => s.cc !== 'ccp').map((s) => s.cc);
  assert.deepEqual(other, [], `flow '${f.name}': samples on other congestion control than ccp`);
}

/** At least `min` reports with fields arrived for the flow. */
export function assertReports(a: AgentLog, c: Created, min: number): number {
  const n = a.reports.get(c.id) ?? 0;
  assert.ok(n >= min, `flow ${c.sid}: ${n} reports reached the agent, expected at least ${min}`);
  return n;
}

/**
 * The kernel's cwnd (packets) follows the Cwnd values (bytes) the agent sent. libccp stages an
 * update and applies it at the flow's next ACK, so the kernel may lag the agent by a stall; and
 * on a loaded host the agent's log times are late by up to `slackS`. So a sample at time t
 * *matches* when it equals floor(value / mss) for a value the agent sent before t + `slackS`,
 * and the matches must also follow the agent's order (each matched value sent no earlier than the
 * previous match's). At least `minFrac` of the samples taken once the agent controlled the flow
 * must match, over at least `minDistinct` different values. A kernel ignoring the agent (stuck
 * at its initial window, or running its own algorithm) fails both.
 */
export function assertCwndFollows(
  a: AgentLog,
  c: Created,
  ss: SsSample[],
  opts: {
    minFrac?: number;
    minDistinct?: number;
    slackS?: number;
    minSamples?: number;
    /** The windows the agent made the datapath use, if not only its Cwnd updates (e.g. a field a program assigns to Cwnd). */
    sent?: Sent[];
  } = {},
): { matched: number; total: number; distinct: number } {
  const { minFrac = 0.7, minDistinct = 3, slackS = 0.5, minSamples = 6 } = opts;
  const sid = c.sid;
  const sent = opts.sent ?? a.cwnd.get(c.id) ?? [];
  assert.ok(sent.length > 0, `flow ${sid}: the agent sent no Cwnd`);
  const during = ss.filter((s) => s.t >= sent[0].t);
  assert.ok(
    during.length >= minSamples,
    `flow ${sid}: only ${during.length} cwnd samples while the agent controlled it (need ${minSamples})`,
  );
  let matched = 0;
  let cursor = 0; // index into `sent` of the previous match
  const distinct = new Set<number>();
  const misses: string[] = [];
  for (const s of during) {
    const mss = Number.isNaN(s.mss) ? c.mss : s.mss;
    let hit = -1;
    for (let i = cursor; i < sent.length && sent[i].t <= s.t + slackS; i++) {
      if (Math.floor(sent[i].value / mss) === s.cwnd) {
        hit = i;
        break;
      }
    }
    if (hit >= 0) {
      matched++;
      cursor = hit;
      distinct.add(s.cwnd);
    } else if (misses.length < 8) {
      const recent = sent.filter((x) => x.t <= s.t + slackS).slice(-4);
      misses.push(
        `t=${s.t.toFixed(2)} kernel=${s.cwnd} agent…${recent.map((x) => Math.floor(x.value / mss)).join(',')}`,
      );
    }
  }
  const frac = matched / during.length;
  assert.ok(
    frac >= minFrac,
    `flow ${sid}: kernel cwnd matched the agent's in ${matched}/${during.length} samples ` +
      `(need ${Math.round(minFrac * 100)}%); misses: ${misses.join('; ')}`,
  );
  assert.ok(
    distinct.size >= minDistinct,
    `flow ${sid}: matched samples show only ${distinct.size} distinct cwnd values (${[...distinct].join(',')}), need ${minDistinct}`,
  );
  return { matched, total: during.length, distinct: distinct.size };
}

/**
 * The socket's pacing rate (ss, bits/s) is a rate the agent made the datapath use (`sent`, bytes/s:
 * its Rate updates, or fields a program assigns to Rate). libccp applies a Rate at the flow's next
 * ACK and ss's sample time is taken before the (slow) ss run, so a sample at t may show any value
 * sent before the next sample's time (or t + `slackS`, if later). The leading samples that show no pacing rate, or one the agent had not
 * sent yet (the kernel's own, before the first Rate reached the socket), are skipped; from the
 * first sample showing an agent rate on, every sample must show one (at least `minSamples`), and
 * when there are 5 or more, at least `minDistinct` different ones (updates keep arriving, not only
 * the first).
 */
export function assertPacingFollows(
  f: FlowResult,
  sent: Sent[],
  opts: { minSamples?: number; minDistinct?: number; slackS?: number } = {},
): { matched: number; distinct: number; skipped: number } {
  const { minSamples = 1, minDistinct = 2, slackS = 1 } = opts;
  assert.ok(sent.length > 0, `flow '${f.name}': the agent never set a rate`);
  const ss = samples(f);
  // A sample's `@` time is taken before its ss run, which on a starved VM takes seconds: the
  // socket was read before the next `@` time at the latest.
  const stamps = [...new Set(f.ss.map((s) => s.t))].sort((x, y) => x - y);
  const readBy = (t: number): number => Math.max(t + slackS, stamps.find((x) => x > t) ?? f.end);
  const agentRate = (s: { t: number; pacingRate: number }): boolean =>
    sent.some((x) => x.t <= readBy(s.t) && x.value * 8 === s.pacingRate);
  let lead = 0;
  while (lead < ss.length && !agentRate(ss[lead]!)) lead++;
  const rest = ss.slice(lead);
  assert.ok(
    rest.length >= minSamples,
    `flow '${f.name}': ${rest.length} ss samples show a pacing rate the agent set (need ${minSamples}); ` +
      `ss showed ${[...new Set(ss.map((s) => s.pacingRate))].slice(0, 8).join(', ')} bps, the agent set ` +
      `${[...new Set(sent.map((x) => x.value * 8))].slice(0, 8).join(', ')} bps`,
  );
  const bad = rest.filter((s) => !agentRate(s)).map((s) => `t=${s.t.toFixed(2)} ${s.pacingRate}`);
  assert.deepEqual(bad, [], `flow '${f.name}': pacing rates (bps) the agent had not set`);
  const distinct = new Set(rest.map((s) => s.pacingRate)).size;
  // ss is a process start per sample: on a starved VM a flow may get one or two samples, too few
  // to ask for a change; from 5 samples on, the rates must have changed (updates kept arriving).
  assert.ok(
    rest.length < 5 || distinct >= minDistinct,
    `flow '${f.name}': the socket showed only ${distinct} distinct agent rates, need ${minDistinct}`,
  );
  return { matched: rest.length, distinct, skipped: lead };
}

/** Goodput the link can carry: tbf counts Ethernet frames, iperf3 counts TCP payload. */
export function payloadCapacityBps(l: Link, mss = 1448): number {
  return l.rateMbit * 1e6 * (mss / (mss + 52 + 14));
}

/** Receiver goodput is at least `frac` of the link's payload capacity. */
export function assertThroughput(f: FlowResult, l: Link, frac: number): number {
  const cap = payloadCapacityBps(l);
  const got = f.iperf.receivedBps;
  assert.ok(
    got >= frac * cap,
    `flow '${f.name}': ${(got / 1e6).toFixed(2)} Mbit/s, expected ≥ ${Math.round(frac * 100)}% of ` +
      `${(cap / 1e6).toFixed(2)} Mbit/s payload capacity (${l.rateMbit} Mbit/s link); per second: ` +
      f.iperf.intervalsBps.map((b) => (b / 1e6).toFixed(1)).join(' '),
  );
  return got / cap;
}

/** Multiplicative decreases in the Cwnd the agent sent (new ≤ factor × previous). */
export function reductions(a: AgentLog, c: Created, factor: number): number {
  const v = (a.cwnd.get(c.id) ?? []).map((s) => s.value);
  let n = 0;
  for (let i = 1; i < v.length; i++) if (v[i] <= factor * v[i - 1]) n++;
  return n;
}

/** Whether the kernel's cwnd (ss) ever dropped to ≤ factor × its previous sample. */
export function kernelReductions(ss: SsSample[], factor: number): number {
  let n = 0;
  for (let i = 1; i < ss.length; i++) if (ss[i].cwnd <= factor * ss[i - 1].cwnd) n++;
  return n;
}

/** Every flow the agent saw created was also closed by the datapath. */
export function assertAllClosed(a: AgentLog): void {
  const open = a.created.filter((c) => !a.closed.has(c.id)).map((c) => `sid ${c.sid} (port ${c.srcPort})`);
  assert.deepEqual(open, [], `flows created but never closed by the datapath`);
}

/** No WARN/ERROR lines in the agent log, except those matching `allow`. */
export function assertNoProblems(a: AgentLog, allow: RegExp[] = []): void {
  const bad = a.problems.filter((l) => !allow.some((re) => re.test(l)));
  assert.deepEqual(bad, [], `agent logged problems`);
}
