// `portus demo` as a user runs it: one agent process serving several algorithms, the simulated
// link and the datapath in real time over a real Unix socket. Real time by design; kept short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { congestionStyle, demoAlgorithms } from '../../src/cli/demo.ts';
import { resolveScenario, runSimulation } from '../../src/sim/index.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portus.js');

function portus(args: string[], timeout: number): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the demo shows whichever preferred algorithms are built in, the zoo included once merged', () => {
  assert.deepEqual(demoAlgorithms(['aimd', 'const', 'cubic', 'reno']), ['cubic', 'reno', 'aimd']);
  assert.deepEqual(demoAlgorithms(['aimd', 'bbr', 'copa', 'cubic', 'reno', 'vegas']), [
    'cubic',
    'bbr',
    'reno',
    'copa',
  ]);
  assert.ok(demoAlgorithms().length >= 3);
});

test('the demo judges each algorithm from its own flows, not from the shared queue', async () => {
  // Vegas next to Cubic sits in the queue Cubic fills (the same p95 queueing delay), yet it backs
  // off on delay: judged by the queue, both would be called loss-based.
  const r = await runSimulation(
    resolveScenario({
      duration: '15s',
      warmup: '4s',
      flows: [{ alg: 'cubic' }, { alg: 'vegas', start: '1s' }],
    }),
  );
  const [cubic, vegas] = r.summary.flows;
  assert.ok(Math.abs(cubic!.queueDelayMs.p95 - vegas!.queueDelayMs.p95) < 5, 'one shared queue');
  assert.match(congestionStyle(r, 'cubic'), /after its own losses \(loss-based; [1-9]\d* packets? lost\)/);
  assert.match(congestionStyle(r, 'vegas'), /without waiting for its own losses/);
});

test("the verdict counts Vegas' one-packet backoffs, and only real decreases of the window", async () => {
  // Vegas backs off one packet per RTT on delay. Before the simulator logged cuts in whole packets,
  // Reno-style unaligned windows coming back aligned made a sub-MSS "cut" per RTT; the verdict
  // skipped every cut under one MSS, Vegas' real ones too, and called Vegas loss-based here.
  const algs = ['reno', 'aimd', 'vegas', 'nimbus'];
  const r = await runSimulation(
    resolveScenario({
      duration: '12s',
      warmup: '7s',
      flows: algs.map((alg, i) => ({ alg, start: `${2 * i}s` })),
    }),
  );
  const cuts = r.events.events.filter((e) => e.kind === 'cut');
  assert.ok(cuts.every((e) => e.a - e.b >= 1448 && e.b % 1448 === 0));
  assert.match(congestionStyle(r, 'vegas'), /without waiting for its own losses/);
  assert.match(congestionStyle(r, 'reno'), /after its own losses \(loss-based/);
});

test('portus demo: several algorithms, one agent process, staggered starts explained', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-demo-test-'));
  try {
    const r = portus(
      ['demo', '--alg', 'cubic', '--alg', 'reno', '--duration', '5s', '--stagger', '1s', '--out', dir],
      90_000,
    );
    assert.equal(r.code, 0, r.err);
    const pid = Number(/agent: cubic, reno \(pid (\d+)\) on (\S+)/.exec(r.out)?.[1]);
    assert.ok(pid > 0, r.out);
    for (const t of [1, 2, 3])
      assert.match(r.out, new RegExp(`^t=\\s*${t}s\\s+cubic: .*\\| reno: .*\\| queue`, 'm'));
    assert.match(r.out, /^0\s+cubic\s+50 ms\s+0 s\s+end\s+[\d.]+ Mbit\/s/m);
    assert.match(r.out, /^1\s+reno\s+50 ms\s+1 s\s+end\s+[\d.]+ Mbit\/s/m);
    // the window opens once both run, and the explanation says so
    assert.match(r.out, /metrics over \[2 s, 5 s\]/);
    assert.match(r.out, /Flows joined 0 s, 1 s; the figures below cover \[2 s, 5 s\]/);
    assert.match(r.out, /^\s+(cubic|reno)\s+[\d.]+ Mbit\/s \(\s*\d+% of the link\), RTT p95 \d+ ms: /m);
    assert.match(r.out, /Jain's fairness index/);
    // the agent really controlled the flows: it sent messages back
    const m = /(\d+) messages to it, (\d+) from it/.exec(r.out);
    assert.ok(m && Number(m[1]) > 5 && Number(m[2]) > 2, r.out);
    assert.ok(r.out.includes(`report: ${join(dir, 'report.html')}`));
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<h2>What happened<\/h2>/);
    assert.ok(existsSync(join(dir, 'events.csv')));
    // the agent process is gone
    assert.throws(() => process.kill(pid, 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('portus demo refuses runs over 40 s and unknown algorithms', () => {
  const long = portus(['demo', '--duration', '41s'], 30_000);
  assert.equal(long.code, 1);
  assert.match(long.err, /at most 40s/);
  const bad = portus(['demo', '--alg', 'nope'], 30_000);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /no built-in algorithm 'nope'/);
});

test('portus demo --dashboard: the agent process serves the live dashboard of the demo flows', async () => {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const dir = mkdtempSync(join(tmpdir(), 'portus-demo-dash-'));
  const child = spawn(
    process.execPath,
    [
      BIN,
      'demo',
      '--alg',
      'cubic',
      '--alg',
      'reno',
      '--duration',
      '8s',
      '--stagger',
      '1s',
      '--out',
      dir,
      '--dashboard',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no dashboard URL within 90 s')), 90_000);
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = /dashboard at (http\S+)/.exec(l);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    assert.equal((await fetch(url)).status, 200);
    const base = url.slice(0, url.indexOf('/?token='));
    const token = url.slice(url.indexOf('token=') + 6);
    // both demo flows appear in the flows table while the demo runs
    let rows: { algorithm: string }[] = [];
    for (let i = 0; i < 200 && rows.length < 2; i++) {
      rows = (
        (await (await fetch(`${base}/api/flows?token=${token}`)).json()) as { rows: { algorithm: string }[] }
      ).rows;
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(rows.map((r) => r.algorithm).sort(), ['cubic', 'reno']);
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
