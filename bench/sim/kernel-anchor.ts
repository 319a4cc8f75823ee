/**
 * The kernel anchor of the simulator's fidelity table (docs/sim.md): the same dumbbell scenarios
 * as bench/sim/fidelity.ts and bench/ns3/fidelity.cc, run by this machine's Linux TCP (Reno,
 * Cubic with and without HyStart) with iperf3 as the traffic source.
 *
 *   sender ns ──veth── router ns ══tun══[delayline]══tun══ receiver ns
 *                              tbf 48 Mbit/s, 300 000 B   25 ms each way, random loss A→B
 *
 * The bottleneck is a `tbf` qdisc on the router's tun device (its drops are the tail drops;
 * the sender is one hop away, so TCP small queues do not hide the queue from it). This kernel has
 * no sch_netem, so the propagation delay is bench/sim/delayline.c: a small C program that moves
 * packets between a tun device in the router and one in the receiver after 25 ms, and drops
 * data packets at random after the queue (as ns-3's receive error model does). Goodput is the
 * iperf3 server's received bytes over [warmup, end]; drops are tbf's counter `slowStartEnd`
 * seconds after the client starts; ssthresh and cwnd are read from `ss -tin` at that moment.
 * iperf3 and the delay line run SCHED_FIFO so that load from other processes on the machine
 * disturbs the measurement as little as possible. Every run repeats `--repeat` times (default 3)
 * (random-loss scenarios `--loss-repeat` times, default 5: with one loss every few seconds the
 * spread is wide) and prints the median and the range. Cubic's HyStart is switched with
 * /sys/module/tcp_cubic/parameters/hystart, restored afterwards. The namespaces are removed
 * after each run, also on failure or Ctrl-C.
 *
 *   node --import tsx bench/sim/kernel-anchor.ts [--repeat N] [--loss-repeat N] [--rate 48]
 *        [--only NAME] [--out kernel.json]
 *
 * `--out` writes every run as JSON, which bench/sim/fidelity.ts --kernel reads for its table.
 *
 * Needs root, ip, tc, ss, iperf3, chrt and a C compiler. Not a test: the figures depend on the
 * machine and its load.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { spread } from './stats.ts';

const root = resolve(import.meta.dirname, '..', '..');
const SRC = join(root, 'bench/sim/delayline.c');
const HYSTART = '/sys/module/tcp_cubic/parameters/hystart';

const { values: opts } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    'loss-repeat': { type: 'string', default: '5' },
    rate: { type: 'string', default: '48' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const REPEAT = Number(opts.repeat);
const LOSS_REPEAT = Number(opts['loss-repeat']);
const RATE_MBPS = Number(opts.rate);
const RTT_MS = 50;
/** 1 BDP of 1500-byte packets at 48 Mbit/s and 50 ms (200 packets), as in the ns-3 scenario. */
const BUFFER_BYTES = 200 * 1500;
const SLOW_START_END_S = 3;

/** One scenario, as in bench/sim/fidelity.ts, plus the HyStart switch. */
interface Case {
  name: string;
  cc: 'reno' | 'cubic';
  hystart?: boolean;
  flows: number;
  loss: number;
  durationS: number;
  warmupS: number;
}

const CASES: Case[] = [
  { name: 'slow start, 1 Reno', cc: 'reno', flows: 1, loss: 0, durationS: 10, warmupS: 3 },
  { name: 'slow start, 1 Cubic', cc: 'cubic', hystart: true, flows: 1, loss: 0, durationS: 10, warmupS: 3 },
  {
    name: 'slow start, 1 Cubic, HyStart off',
    cc: 'cubic',
    hystart: false,
    flows: 1,
    loss: 0,
    durationS: 10,
    warmupS: 3,
  },
  { name: '0.01% loss, 1 Reno', cc: 'reno', flows: 1, loss: 1e-4, durationS: 30, warmupS: 5 },
  {
    name: '0.01% loss, 1 Cubic',
    cc: 'cubic',
    hystart: true,
    flows: 1,
    loss: 1e-4,
    durationS: 30,
    warmupS: 5,
  },
  { name: 'steady, 2 Cubic', cc: 'cubic', hystart: true, flows: 2, loss: 0, durationS: 30, warmupS: 10 },
];

/** What one run measured. */
interface Outcome {
  slowStartDrops: number;
  /** ssthresh and cwnd (packets) of each data connection at `SLOW_START_END_S`. */
  ssthresh: number[];
  cwnd: number[];
  goodputMbps: number[];
  randomLosses: number;
  totalDrops: number;
}

function sh(cmd: string, args: string[], check = true): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (check && r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout || r.error}`);
  return r.stdout ?? '';
}

function unavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const t of ['ip', 'tc', 'ss', 'iperf3', 'chrt', 'cc']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} not installed`;
  }
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  return null;
}

function delayline(): string {
  const hash = createHash('sha256').update(readFileSync(SRC)).digest('hex').slice(0, 16);
  const dir = join(root, 'node_modules/.cache/portus-kernel-anchor', hash);
  const bin = join(dir, 'delayline');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    sh('cc', ['-O2', '-Wall', '-o', bin, SRC]);
  }
  return bin;
}

/** Three namespaces and the processes of one run; `close` undoes everything. */
class Rig {
  readonly ns: { s: string; r: string; d: string };
  private line: ChildProcess | null = null;
  private lineOut = '';
  private readonly procs: ChildProcess[] = [];

  constructor(tag: string) {
    this.ns = { s: `${tag}-s`, r: `${tag}-r`, d: `${tag}-d` };
  }

  async open(bin: string, loss: number, seed: number): Promise<void> {
    const { s, r, d } = this.ns;
    for (const n of [s, r, d]) {
      sh('ip', ['netns', 'add', n]);
      sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['-n', s, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', r]);
    sh('ip', ['-n', s, 'addr', 'add', '10.78.1.1/24', 'dev', 'v0']);
    sh('ip', ['-n', s, 'link', 'set', 'v0', 'up', 'gso_max_segs', '1']); // one packet per skb, as on a wire
    sh('ip', ['-n', s, 'route', 'add', 'default', 'via', '10.78.1.2']);
    sh('ip', ['-n', r, 'addr', 'add', '10.78.1.2/24', 'dev', 'v1']);
    sh('ip', ['-n', r, 'link', 'set', 'v1', 'up']);
    sh('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const oneWayUs = String((RTT_MS / 2) * 1000);
    this.line = spawn('chrt', ['-f', '20', bin, r, 't0', d, 't1', oneWayUs, String(loss), String(seed)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.line.stdout!.on('data', (b: Buffer) => (this.lineOut += b.toString()));
    for (let i = 0; !this.lineOut.includes('ready'); i++) {
      if (i > 100 || this.line.exitCode !== null) throw new Error('delayline did not start');
      await sleep(20);
    }
    sh('ip', ['-n', r, 'addr', 'add', '10.78.2.1/24', 'dev', 't0']);
    sh('ip', ['-n', r, 'link', 'set', 't0', 'up', 'txqueuelen', '1000']);
    sh('ip', ['-n', d, 'addr', 'add', '10.78.2.2/24', 'dev', 't1']);
    sh('ip', ['-n', d, 'link', 'set', 't1', 'up']);
    sh('ip', ['-n', d, 'route', 'add', 'default', 'dev', 't1']);
    // burst: 10 packets (2.5 ms at 48 Mbit/s), so that a late timer under load costs no capacity
    sh('ip', ['netns', 'exec', r, 'tc', 'qdisc', 'replace', 'dev', 't0', 'root', 'tbf', 'rate',
      `${RATE_MBPS}mbit`, 'burst', '15000', 'limit', String(BUFFER_BYTES)]); // prettier-ignore
  }

  exec(ns: string, cmd: string[], fifo = true): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, ...(fifo ? ['chrt', '-f', '10'] : []), ...cmd], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.procs.push(p);
    return p;
  }

  tbfDrops(): number {
    const out = sh('ip', ['netns', 'exec', this.ns.r, 'tc', '-s', 'qdisc', 'show', 'dev', 't0']);
    const m = /dropped (\d+)/.exec(out);
    return m === null ? NaN : Number(m[1]);
  }

  /** ssthresh and cwnd of each data connection (the ones with our congestion control). */
  windows(cc: string): { ssthresh: number[]; cwnd: number[] } {
    const out = sh('ip', ['netns', 'exec', this.ns.s, 'ss', '-tin', 'dst', '10.78.2.2']);
    const ssthresh: number[] = [];
    const cwnd: number[] = [];
    for (const line of out.split('\n')) {
      if (!line.trimStart().startsWith(`${cc} `)) continue;
      const c = /cwnd:(\d+)/.exec(line);
      const t = /ssthresh:(\d+)/.exec(line);
      if (c === null || !/bytes_acked:(\d{6,})/.test(line)) continue; // skip iperf3's control connection
      cwnd.push(Number(c[1]));
      ssthresh.push(t === null ? Infinity : Number(t[1]));
    }
    return { ssthresh, cwnd };
  }

  /** Stop the delay line and return its counters. */
  async stopLine(): Promise<{ abLost: number }> {
    if (this.line === null || this.line.exitCode !== null) return { abLost: NaN };
    const done = new Promise((r) => this.line!.once('exit', r));
    this.line.kill('SIGTERM');
    await done;
    const j = JSON.parse(this.lineOut.trim().split('\n').pop()!) as { abLost: number };
    return j;
  }

  close(): void {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (this.line !== null && this.line.exitCode === null) this.line.kill('SIGKILL');
    for (const n of Object.values(this.ns)) spawnSync('ip', ['netns', 'del', n]);
  }
}

function collect(p: ChildProcess): Promise<string> {
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((res) => p.once('exit', () => res(out)));
}

interface IperfServerJson {
  intervals: { streams: { start: number; end: number; bytes: number }[] }[];
}

async function runOnce(bin: string, c: Case, seed: number, tag: string, live: Set<Rig>): Promise<Outcome> {
  const rig = new Rig(tag);
  live.add(rig);
  try {
    await rig.open(bin, c.loss, seed);
    const server = rig.exec(rig.ns.d, ['iperf3', '-s', '-1', '-J', '-i', '1']);
    const serverOut = collect(server);
    await sleep(300);
    const client = rig.exec(rig.ns.s, [
      'iperf3', '-c', '10.78.2.2', '-C', c.cc, '-P', String(c.flows), '-t', String(c.durationS), '-J', '-i', '0',
    ]); // prettier-ignore
    const clientOut = collect(client);
    await sleep(SLOW_START_END_S * 1000);
    const slowStartDrops = rig.tbfDrops();
    const w = rig.windows(c.cc);
    const cli = await clientOut;
    if (client.exitCode !== 0) throw new Error(`iperf3 client failed: ${cli.slice(0, 500)}`);
    const srv = JSON.parse(await serverOut) as IperfServerJson;
    const goodputMbps = Array.from({ length: c.flows }, (_, i) => {
      let bytes = 0;
      let t0 = Infinity;
      let t1 = 0;
      for (const iv of srv.intervals) {
        const st = iv.streams[i]!;
        if (st.start + 1e-3 < c.warmupS) continue;
        bytes += st.bytes;
        t0 = Math.min(t0, st.start);
        t1 = Math.max(t1, st.end);
      }
      return (bytes * 8) / (t1 - t0) / 1e6;
    });
    const totalDrops = rig.tbfDrops();
    const line = await rig.stopLine();
    return { slowStartDrops, ...w, goodputMbps, randomLosses: line.abLost, totalDrops };
  } finally {
    rig.close();
    live.delete(rig);
  }
}

async function main(): Promise<void> {
  const why = unavailable();
  if (why !== null) {
    console.error(`kernel anchor skipped: ${why}`);
    return;
  }
  const bin = delayline();
  const hystartBefore = existsSync(HYSTART) ? readFileSync(HYSTART, 'utf8').trim() : null;
  const live = new Set<Rig>();
  const cleanup = (): void => {
    for (const r of live) r.close();
    if (hystartBefore !== null) writeFileSync(HYSTART, hystartBefore);
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const tag = `pka${process.pid % 100000}`;
  const cases = opts.only === undefined ? CASES : CASES.filter((c) => c.name.includes(opts.only!));
  const results: { case: Case; runs: Outcome[] }[] = [];
  try {
    for (const c of cases) {
      if (c.hystart !== undefined) {
        if (hystartBefore === null) continue;
        writeFileSync(HYSTART, c.hystart ? '1' : '0');
      }
      const runs: Outcome[] = [];
      for (let k = 0; k < (c.loss > 0 ? LOSS_REPEAT : REPEAT); k++) {
        const o = await runOnce(bin, c, k + 1, tag, live);
        runs.push(o);
        console.error(
          `${c.name} #${k + 1}: drops@${SLOW_START_END_S}s ${o.slowStartDrops} (total ${o.totalDrops}), ` +
            `random ${o.randomLosses}, ssthresh ${o.ssthresh.join('+')}, cwnd ${o.cwnd.join('+')}, ` +
            `goodput ${o.goodputMbps.map((g) => g.toFixed(1)).join(' + ')} Mbit/s`,
        );
      }
      results.push({ case: c, runs });
    }
  } finally {
    cleanup();
  }
  if (opts.out !== undefined) {
    const json = { kernel: sh('uname', ['-r']).trim(), rateMbps: RATE_MBPS, results };
    writeFileSync(opts.out, `${JSON.stringify(json)}\n`);
  }
  console.log(
    `\nLinux ${sh('uname', ['-r']).trim()}: ${RATE_MBPS} Mbit/s tbf, ${RTT_MS} ms, ${BUFFER_BYTES} B buffer; ` +
      `median (min–max) of ${REPEAT} runs (random loss: ${LOSS_REPEAT}); goodput over [warmup, end]`,
  );
  for (const { case: c, runs } of results) {
    const drops = spread(
      runs.map((o) => o.slowStartDrops),
      0,
    );
    const good = Array.from({ length: c.flows }, (_, i) =>
      spread(
        runs.map((o) => o.goodputMbps[i]!),
        1,
      ),
    );
    console.log(
      `${c.name.padEnd(34)} drops in first ${SLOW_START_END_S} s ${drops.padEnd(16)} goodput ${good.join(' + ')}`,
    );
  }
}

await main();
