// `portus sim` and `portus demo` as a user runs them: real processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portus.js');

function portus(args: string[], timeout = 120_000): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'portus-sim-cli-'));
}

test('portus sim with flags --json: the result describes the requested run', () => {
  const r = portus([
    'sim',
    '--alg',
    'cubic',
    '--alg',
    'reno',
    '--flows',
    '3',
    '--link',
    '20mbps',
    '--rtt',
    '40ms',
    '--buffer',
    '2bdp',
    '--duration',
    '3s',
    '--loss',
    '0.01%',
    '--ecn-threshold',
    '30kb',
    '--seed',
    '9',
    '--json',
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    scenario: {
      flows: { alg: string; rttMs: number }[];
      bufferBytes: number;
      durationS: number;
      lossRate: number;
      ecnThresholdBytes: number;
      seed: number;
    };
    summary: { flows: unknown[]; capacityBps: number; utilisation: number };
  };
  assert.deepEqual(
    j.scenario.flows.map((f) => f.alg),
    ['cubic', 'cubic', 'reno'],
  );
  assert.ok(j.scenario.flows.every((f) => f.rttMs === 40));
  assert.equal(j.scenario.bufferBytes, 200_000); // 2 x 20 Mbit/s x 40 ms
  assert.equal(j.scenario.durationS, 3);
  assert.equal(j.scenario.lossRate, 0.0001);
  assert.equal(j.scenario.ecnThresholdBytes, 30_000);
  assert.equal(j.scenario.seed, 9);
  assert.equal(j.summary.flows.length, 3);
  assert.equal(j.summary.capacityBps, 20e6);
  assert.ok(j.summary.utilisation > 0.5);
});

test('portus sim scenario.json --out: table on stdout, every output file written', () => {
  const dir = tmp();
  try {
    const r = portus(['sim', 'examples/scenarios/const-window.json', '--duration', '3s', '--out', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Const: fixed 20-packet window/);
    assert.match(r.out, /^0\s+const\s+50 ms\s+0 s\s+end\s+4\.5\d Mbit\/s/m); // 20 packets of 1448 payload bytes per 50 ms
    assert.match(r.out, /utilisation/);
    assert.ok(r.out.includes(`report: ${join(dir, 'report.html')}`));
    assert.deepEqual(readdirSync(dir).sort(), [
      'cwnd.svg',
      'events.csv',
      'queue-delay.svg',
      'report.html',
      'rtt.svg',
      'summary.json',
      'throughput-delay.svg',
      'throughput.svg',
      'timeseries.csv',
    ]);
    const csv = readFileSync(join(dir, 'timeseries.csv'), 'utf8').trim().split('\n');
    assert.ok(csv.length > 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every example scenario runs', () => {
  const files = readdirSync('examples/scenarios').filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    // 2 s, or just past the last flow's start (a flow starting after the end is an error)
    const sc = JSON.parse(readFileSync(join('examples/scenarios', f), 'utf8')) as {
      flows: { start?: string }[];
    };
    const lastStart = Math.max(0, ...sc.flows.map((x) => parseFloat(x.start ?? '0')));
    const duration = `${Math.max(2, lastStart + 1)}s`;
    const r = portus(['sim', join('examples/scenarios', f), '--duration', duration, '--json']);
    assert.equal(r.code, 0, `${f}: ${r.err}`);
    const j = JSON.parse(r.out) as { summary: { linkThroughputBps: number } };
    assert.ok(j.summary.linkThroughputBps > 0, f);
  }
});

test('portus sim --trace uses the trace as the bottleneck', () => {
  const dir = tmp();
  try {
    const trace = join(dir, 'link.trace');
    writeFileSync(trace, Array.from({ length: 100 }, (_, i) => String(i + 1)).join('\n') + '\n'); // 12 Mbit/s
    const r = portus(['sim', '--alg', 'cubic', '--trace', trace, '--duration', '5s', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      scenario: { link: string };
      summary: { capacityBps: number; linkThroughputBps: number };
    };
    assert.match(j.scenario.link, /^trace .*link\.trace/);
    assert.equal(j.summary.capacityBps, 12e6);
    assert.ok(j.summary.linkThroughputBps <= 12e6 && j.summary.linkThroughputBps > 9e6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('portus sim rejects bad input with a clear message and exit code 1', () => {
  const cases: [string[], RegExp][] = [
    [['sim', '--flows', '0'], /--flows expects a positive integer/],
    [['sim', '--link', 'fast'], /invalid rate "fast"/],
    [['sim', '--alg', 'nope', '--duration', '1s'], /unknown algorithm 'nope'/],
    [['sim', '--buffer', '100b'], /cannot hold one 1500-byte packet/],
    [['sim', 'does-not-exist.json'], /cannot read scenario/],
  ];
  for (const [args, re] of cases) {
    const r = portus(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, re);
  }
  const dir = tmp();
  try {
    const f = join(dir, 's.json');
    writeFileSync(f, JSON.stringify({ flows: [{ alg: 'cubic', cuont: 2 }] }));
    const r = portus(['sim', f]);
    assert.equal(r.code, 1);
    assert.match(r.err, /flows\[0\]: unknown key 'cuont'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('portus sim --alg ./file.ts runs an algorithm from a file next to a built-in one', () => {
  const dir = tmp();
  try {
    // an ESM folder, as a user's project would be (tsx loads .ts outside one as CommonJS)
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const file = join(dir, 'fixed.ts');
    writeFileSync(
      file,
      `export default {
  name: 'fixed-window',
  datapathPrograms: () => ({ p: '(def (Report (volatile acked 0))) (when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (fallthrough)) (when (> Micros Flow.rtt_sample_us) (report) (:= Micros 0))' }),
  newFlow(dp: { setProgram(n: string, f: Record<string, number>): void }) {
    dp.setProgram('p', { Cwnd: 10 * 1500 });
    return { onReport() {} };
  },
};
`,
    );
    const r = portus(['sim', '--alg', file, '--alg', 'cubic', '--duration', '5s', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      scenario: { name: string };
      summary: { flows: { alg: string; throughputBps: number }[] };
    };
    assert.equal(j.scenario.name, 'fixed-window vs cubic');
    assert.deepEqual(
      j.summary.flows.map((f) => f.alg),
      ['fixed-window', 'cubic'],
    );
    // 10 packets per RTT (50 ms plus the queue Cubic builds): at most 2.4 Mbit/s
    assert.ok(j.summary.flows[0]!.throughputBps < 2.4e6 && j.summary.flows[0]!.throughputBps > 0.8e6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
