/**
 * Same algorithm, three places: one bottleneck run with a TypeScript algorithm on the real kernel
 * (ccp-kernel in the test rig's VM), with the same algorithm in `portus sim`, and with the
 * kernel's native implementation, printed side by side. A report, not a test: nothing fails on
 * the figures.
 *
 *   npm run bench -- kernel
 *   node --import tsx bench/kernel/three-way.ts --rate 5 --rtt 40 --seconds 20 --alg reno --alg cubic
 *
 * The VM is emulated (qemu TCG), so the link is kept slow enough for it to fill; on a real host,
 * run the same iperf3 + `portus run` commands (docs/kernel.md) at any rate.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepare, progress, REPO } from '../../test/kernel/rig/prepare.ts';
import { boot } from '../../test/kernel/rig/vm.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5' },
    rtt: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '20' },
    alg: { type: 'string', multiple: true, default: ['reno', 'cubic'] },
  },
});
const rateMbit = Number(values.rate);
const rttMs = Number(values.rtt);
const seconds = Number(values.seconds);
const algs = values.alg as string[];
const bdp = Math.round((rateMbit * 1e6 * rttMs) / 8000);

interface Row {
  alg: string;
  where: string;
  mbit: number;
  util: number;
  rttMs: number;
  queueMs: number;
  retrans: number;
}

/** The VM plan: for each algorithm, the kernel's own, then ours on ccp-kernel. */
function plan(): string {
  const l = [
    'set -u',
    `REPO=${JSON.stringify(REPO)}`,
    'OUT=/tmp/out',
    `NODE=${JSON.stringify(process.execPath)}`,
    'source "$REPO/test/kernel/vm/lib.sh"',
    'cd /tmp',
    'topology',
    'scenario bench',
    `link ${rateMbit} ${rttMs} ${bdp} 0`,
  ];
  for (const a of algs) {
    l.push(`sysctl -qw net.ipv4.tcp_congestion_control=${a}`, `flow native-${a} ${seconds} -O 1`);
    l.push('sysctl -qw net.ipv4.tcp_congestion_control=ccp', `agent_start portus-${a} ${a}`);
    l.push(`flow portus-${a} ${seconds} -O 1`, 'agent_stop');
  }
  l.push('scenario_end 0', 'say "bench done"');
  return l.join('\n') + '\n';
}

interface IperfJ {
  end: {
    sum_received: { bits_per_second: number };
    sum_sent: { retransmits: number };
    streams: { sender: { mean_rtt: number; min_rtt: number } }[];
  };
}

function kernelRow(out: string, alg: string, where: string, file: string): Row {
  const payloadCap = rateMbit * 1e6 * (1448 / 1514);
  try {
    const j = JSON.parse(readFileSync(join(out, 'bench', `${file}.json`), 'utf8')) as IperfJ;
    const s = j.end.streams[0].sender;
    return {
      alg,
      where,
      mbit: j.end.sum_received.bits_per_second / 1e6,
      util: j.end.sum_received.bits_per_second / payloadCap,
      rttMs: s.mean_rtt / 1000,
      queueMs: (s.mean_rtt - s.min_rtt) / 1000,
      retrans: j.end.sum_sent.retransmits,
    };
  } catch (e) {
    progress(`${file}: no result (${(e as Error).message})`);
    return { alg, where, mbit: NaN, util: NaN, rttMs: NaN, queueMs: NaN, retrans: NaN };
  }
}

interface SimJ {
  summary: {
    utilisation: number;
    flows: {
      throughputBps: number;
      rttMs: { mean: number };
      queueDelayMs: { mean: number };
      retransPkts: number;
    }[];
  };
}

function simRow(alg: string): Row {
  const r = spawnSync(
    process.execPath,
    [
      join(REPO, 'bin/portus.js'),
      'sim',
      '--alg',
      alg,
      '--link',
      `${rateMbit}mbps`,
      '--rtt',
      `${rttMs}ms`,
      '--buffer',
      '1bdp',
      '--duration',
      `${seconds + 1}s`,
      '--json',
      '--no-progress',
    ],
    { encoding: 'utf8', maxBuffer: 256 << 20 },
  );
  const j = JSON.parse(r.stdout) as SimJ;
  const f = j.summary.flows[0];
  return {
    alg,
    where: 'portus sim',
    mbit: f.throughputBps / 1e6,
    util: j.summary.utilisation,
    rttMs: f.rttMs.mean,
    queueMs: f.queueDelayMs.mean,
    retrans: f.retransPkts,
  };
}

const t0 = Date.now();
progress(
  `three-way: ${rateMbit} Mbit/s, ${rttMs} ms, 1 BDP (${bdp} B) buffer, ${seconds} s; ${algs.join(', ')}`,
);
const prepared = prepare();
const out = mkdtempSync(join(tmpdir(), 'portus-bench-kernel-'));
writeFileSync(join(out, 'plan.sh'), plan());
await boot(prepared, { out, timeoutS: 3600 });
const rows: Row[] = [];
for (const a of algs) {
  rows.push(kernelRow(out, a, 'ccp-kernel + portus', `portus-${a}`));
  progress(`portus sim ${a}`);
  rows.push(simRow(a));
  rows.push(kernelRow(out, a, 'Linux native', `native-${a}`));
}
const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
console.log(
  `\n${rateMbit} Mbit/s bottleneck, ${rttMs} ms RTT, 1 BDP buffer, ${seconds} s (first second not counted on the kernel)`,
);
console.log(
  '| algorithm | where | throughput (Mbit/s) | utilisation | mean RTT (ms) | queueing delay (ms) | retransmissions |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.alg} | ${r.where} | ${fmt(r.mbit, 2)} | ${fmt(100 * r.util, 0)}% | ${fmt(r.rttMs)} | ${fmt(r.queueMs)} | ${fmt(r.retrans, 0)} |`,
  );
}
console.log(
  '\nKernel throughput is iperf3 goodput (TCP payload); utilisation is against the payload capacity of the link.' +
    '\nThe simulator counts whole 1500-byte packets. Kernel queueing delay = mean − min RTT of the flow (emulation adds' +
    '\nto the RTT); the simulator reports its queue directly.' +
    `\n(${((Date.now() - t0) / 1000).toFixed(0)} s; results in ${out})`,
);
