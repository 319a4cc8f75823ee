// Metrics over a window ([warmup, end]), the loss/cut event log, ssthresh and the send rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventsCsv, resolveScenario, runSimulation, toCsv, formatTable } from '../../src/sim/index.ts';

const sc = (warmup?: string) =>
  resolveScenario({
    link: '24mbps',
    duration: '12s',
    ...(warmup !== undefined ? { warmup } : {}),
    flows: [{ alg: 'reno' }, { alg: 'cubic', start: '4s' }],
  });

test('--warmup: every metric covers [warmup, end]; the late flow is no longer penalised', async () => {
  const whole = await runSimulation(sc());
  const win = await runSimulation(sc('6s'));
  assert.deepEqual(whole.summary.window, { fromS: 0, toS: 12 });
  assert.deepEqual(win.summary.window, { fromS: 6, toS: 12 });
  // same run, different window: the counters of the window are a part of the whole run's
  const [w0, w1] = win.summary.flows;
  const [a0, a1] = whole.summary.flows;
  assert.ok(w0!.sentPkts < a0!.sentPkts && w1!.sentPkts < a1!.sentPkts);
  assert.ok(win.summary.tailDrops < whole.summary.tailDrops, 'slow-start drops are outside the window');
  assert.equal(w0!.startS, 6);
  assert.equal(w1!.startS, 6);
  // the window's throughputs add up to the window's link throughput (payload of 1500-byte packets)
  const sum = w0!.throughputBps + w1!.throughputBps;
  assert.ok(Math.abs(sum - (win.summary.linkThroughputBps * 1448) / 1500) / sum < 0.02, `${sum}`);
  assert.match(formatTable(win), /metrics over \[6 s, 12 s\] \(warmup 6 s excluded\)/);
  assert.match(formatTable(whole), /metrics over the whole run \[0, 12 s\]/);
  // the cubic flow joining at 4 s is measured on equal terms after the warmup
  assert.ok(win.summary.jain > whole.summary.jain, `${win.summary.jain} vs ${whole.summary.jain}`);
  assert.throws(() => sc('12s'), /leaves nothing to measure/);
});

test('the event log records losses and cuts; the series carry ssthresh and the send rate', async () => {
  const r = await runSimulation(sc());
  const ev = r.events.events;
  const cuts = ev.filter((e) => e.kind === 'cut');
  assert.ok(ev.some((e) => e.kind === 'loss'));
  assert.ok(cuts.length > 2);
  assert.ok(cuts.every((c) => c.b < c.a));
  assert.ok(
    ev.every((e, i) => i === 0 || e.timeUs >= ev[i - 1]!.timeUs),
    'time order',
  );
  const csv = eventsCsv(r.events).trim().split('\n');
  assert.equal(csv[0], 'time_s,flow,event,value,window_after_bytes');
  assert.equal(csv.length, ev.length + 1);
  // ssthresh: NaN before the flow's first cut, then the window that cut left
  const first = cuts.find((c) => c.flow === 0)!;
  const k = r.series.t.findIndex((t) => t * 1e6 > first.timeUs + 1);
  assert.ok(Number.isNaN(r.series.ssthresh[0]![0]!));
  assert.ok(r.series.ssthresh[0]![k]! > 0);
  // Cubic sets no pacing rate, but its send rate (cwnd / srtt) is visible
  const rows = toCsv(r)
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  const cubicLate = rows.filter((c) => c[2] === 'cubic' && Number(c[0]) > 8);
  assert.ok(cubicLate.every((c) => c[4] === '0' && Number(c[11]) > 1e6));
});
