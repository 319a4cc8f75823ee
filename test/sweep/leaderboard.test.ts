// The leaderboard and results.csv from stored results: ranking by power, mean ± spread over seeds,
// failures, CSV quoting and fixed formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expandSpec,
  leaderboardHtml,
  meanSd,
  parseSpec,
  resultsCsv,
  standings,
  type CellMetrics,
  type StoredResult,
} from '../../src/sweep/index.ts';

const spec = parseSpec('algorithms: [cubic, reno, aimd]\nfixed: { duration: 1s }\nseeds: 2', { yaml: true });
const cells = expandSpec(spec);

function metrics(tputMbps: number, rttMs: number, qdelayMs: number): CellMetrics {
  return {
    algThroughputBps: tputMbps * 1e6,
    algQueueDelayP95Ms: qdelayMs,
    algRttP95Ms: rttMs,
    linkThroughputBps: tputMbps * 1e6,
    utilisation: tputMbps / 48,
    jain: 1,
    queueDelayP50Ms: qdelayMs / 2,
    queueDelayP95Ms: qdelayMs,
    queueDelayP99Ms: NaN,
    sentPkts: 1000,
    retransPkts: 3,
    timeouts: 0,
    tailDrops: 3,
    randomDrops: 0,
    ecnMarks: 0,
    flows: 1,
  };
}

// cubic: 40 Mbit/s at 100 ms; reno: 30 Mbit/s at 60 ms (more power); aimd: one seed failed
const results = new Map<string, StoredResult>();
const put = (i: number, r: Omit<StoredResult, 'id' | 'wallMs'>): void => {
  results.set(cells[i]!.task.id, { id: cells[i]!.task.id, wallMs: 1, ...r });
};
put(0, { status: 'ok', metrics: metrics(39, 100, 50) });
put(1, { status: 'ok', metrics: metrics(41, 100, 50) });
put(2, { status: 'ok', metrics: metrics(30, 60, 10) });
put(3, { status: 'ok', metrics: metrics(30, 60, 10) });
put(4, { status: 'failed', error: 'cannot load "x", really\nbadly' });

test('meanSd: population standard deviation over finite values', () => {
  assert.deepEqual(meanSd([39, 41, NaN]), { mean: 40, sd: 1, n: 2 });
  assert.deepEqual(meanSd([]), { mean: NaN, sd: NaN, n: 0 });
});

test('standings: ranked by power (throughput ÷ p95 RTT); algorithms without results last', () => {
  const st = standings(cells, results);
  assert.deepEqual(
    st.map((s) => [s.alg, s.ok]),
    [
      ['reno', 2],
      ['cubic', 2],
      ['aimd', 0],
    ],
  );
  assert.equal(st[0]!.power, 30 / 0.06);
  assert.deepEqual(st[1]!.throughputMbps, { mean: 40, sd: 1, n: 2 });
});

test('results.csv: expansion order, fixed decimals, empty for no value, quoted errors, pending cells', () => {
  const lines = resultsCsv(spec, cells, results).trim().split('\n');
  assert.equal(lines.length, 7);
  assert.equal(
    lines[1],
    `0,${cells[0]!.task.id},sweep,cubic,1,ok,39.000,50.000,100.000,39.000,0.8125,1.0000,25.000,50.000,,1,1000,3,0,3,0,0,`,
  );
  assert.ok(lines[5]!.endsWith(`,failed,,,,,,,,,,,,,,,,,"cannot load ""x"", really badly"`), lines[5]);
  assert.match(lines[6]!, /,aimd,2,pending,/);
});

test('leaderboard: one section, whiskers for the spread, links to ok cells, failures marked', () => {
  const html = leaderboardHtml(spec, cells, results);
  assert.match(html, /6 cells: 4 finished, 1 failed, 1 not run/);
  assert.equal((html.match(/<section /g) ?? []).length, 1);
  assert.match(html, /<td>1<\/td><td>reno<\/td><td>500\.0<\/td><td>30\.00 ± 0\.00<\/td>/);
  assert.match(html, /<td>2<\/td><td>cubic<\/td>.*<td>40\.00 ± 1\.00<\/td>/);
  assert.match(html, /<line [^>]*stroke="#0072B2"\/>/, 'cubic (first colour) has a throughput whisker');
  assert.equal((html.match(/href="cells\/[0-9a-f]{16}\/report\.html"/g) ?? []).length, 4);
  assert.match(html, /title="failed: cannot load &quot;x&quot;, really\nbadly">1✗/);
  assert.match(html, /title="not run yet">2✗/);
});
