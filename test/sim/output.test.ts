// Outputs: SVG writer, CSV, JSON, HTML report, files on disk. Everything is parsed back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  htmlReport,
  jainIndex,
  lineChart,
  niceTicks,
  percentile,
  plots,
  resolveScenario,
  runSimulation,
  scatterChart,
  toCsv,
  toJson,
  writeOutputs,
  binMean,
  throughputBinUs,
  type SimResult,
} from '../../src/sim/index.ts';
import { findAll, parseXml } from './xml.ts';

let cached: SimResult | null = null;
async function result(): Promise<SimResult> {
  cached ??= await runSimulation(
    resolveScenario({
      name: 'outputs <&> test',
      link: '24mbps',
      duration: '3s',
      sampleInterval: '50ms',
      flows: [{ alg: 'cubic' }, { alg: 'const', params: { cwnd: '30' }, start: '1s' }],
    }),
  );
  return cached;
}

test('niceTicks: cover the range with 1/2/5 x 10^k steps', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
      (lo, span) => {
        fc.pre(span >= 1e-6 * Math.abs(lo));
        const t = niceTicks(lo, lo + span, 5);
        assert.ok(t.length >= 2 && t.length <= 13, `${t.length} ticks`);
        assert.ok(
          t[0]! <= lo + 1e-6 * span && t[t.length - 1]! >= lo + span - 1e-6 * span,
          `${t} for ${lo}+${span}`,
        );
        const step = t[1]! - t[0]!;
        const m = step / 10 ** Math.floor(Math.log10(step));
        assert.ok(
          [1, 2, 5, 10].some((x) => Math.abs(m - x) < 1e-6),
          `step ${step}`,
        );
      },
    ),
    { seed: 5, numRuns: 300 },
  );
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
});

test('lineChart: well-formed SVG, escaped text, NaN breaks lines, points inside the plot', () => {
  const x = Float64Array.from({ length: 100 }, (_, i) => i / 10);
  const y = x.map((v) => (v > 4 && v < 5 ? NaN : Math.sin(v) * 10));
  const svg = lineChart({ title: 'a <b> & "c"', xLabel: 't', yLabel: 'v', series: [{ name: 's<1>', x, y }] });
  const doc = parseXml(svg);
  assert.equal(doc.name, 'svg');
  assert.equal(doc.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const texts = findAll(doc, 'text').map((t) => t.text);
  assert.ok(texts.includes('a <b> & "c"'));
  assert.ok(texts.includes('s<1>'));
  const lines = findAll(doc, 'polyline');
  assert.equal(lines.length, 2, 'the NaN gap splits the line in two');
  const [w, h] = [Number(doc.attrs.width), Number(doc.attrs.height)];
  for (const l of lines) {
    for (const p of l.attrs.points!.split(' ')) {
      const [px, py] = p.split(',').map(Number);
      assert.ok(px! >= 0 && px! <= w && py! >= 0 && py! <= h);
    }
  }
});

test('lineChart decimates long series but keeps the extremes', () => {
  const n = 100_000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = Float64Array.from({ length: n }, (_, i) => (i === 54_321 ? 1000 : i % 7));
  const doc = parseXml(
    lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', x, y }], maxPoints: 1000 }),
  );
  const pts = findAll(doc, 'polyline')[0]!
    .attrs.points!.split(' ')
    .map((p) => Number(p.split(',')[1]));
  assert.ok(pts.length <= 1002, `${pts.length} points`);
  const top = Math.min(...pts);
  assert.ok(top < 40, 'the spike to 1000 is drawn near the top of the plot');
});

test('scatterChart: one labelled point per entry, inverted x puts larger values left', () => {
  const svg = scatterChart({
    title: 'tput vs delay',
    xLabel: 'delay',
    yLabel: 'tput',
    invertX: true,
    points: [
      { label: 'cubic', x: 40, y: 20 },
      { label: 'reno', x: 10, y: 10 },
    ],
  });
  const doc = parseXml(svg);
  const c = findAll(doc, 'circle');
  assert.equal(c.length, 2);
  assert.ok(Number(c[0]!.attrs.cx) < Number(c[1]!.attrs.cx));
  assert.ok(Number(c[0]!.attrs.cy) < Number(c[1]!.attrs.cy), 'higher throughput is higher up');
});

test('jainIndex and percentile', () => {
  assert.equal(jainIndex([5, 5, 5, 5]), 1);
  assert.equal(jainIndex([1, 0, 0, 0]), 0.25);
  assert.ok(Math.abs(jainIndex([3, 1]) - 16 / 20) < 1e-12);
  const s = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(s, 50), 50);
  assert.equal(percentile(s, 95), 95);
  assert.equal(percentile(s, 100), 100);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('CSV time series: header, one row per sample and flow, numbers that match the summary', async () => {
  const r = await result();
  const lines = toCsv(r).trimEnd().split('\n');
  const header = lines[0]!.split(',');
  assert.deepEqual(header, [
    'time_s',
    'flow',
    'alg',
    'cwnd_bytes',
    'rate_bps',
    'throughput_bps',
    'rtt_ms',
    'queue_bytes',
    'queue_delay_ms',
    'link_throughput_bps',
    'ssthresh_bytes',
    'send_rate_bps',
  ]);
  assert.equal(r.series.length, 60);
  assert.equal(lines.length - 1, 60 * 2);
  let bytes0 = 0;
  for (const line of lines.slice(1)) {
    const c = line.split(',');
    assert.equal(c.length, header.length);
    for (const i of [0, 1, 7, 9])
      assert.ok(c[i] !== '' && Number.isFinite(Number(c[i])), `${header[i]}: '${c[i]}'`);
    if (c[1] === '0') bytes0 += (Number(c[5]) * 0.05) / 8;
    // the const flow has no window and no throughput before it starts at 1 s
    if (c[1] === '1' && Number(c[0]) < 1) assert.deepEqual([c[3], c[5]], ['', '']);
    else assert.ok(c[5] !== '' && Number.isFinite(Number(c[5])), `throughput '${c[5]}'`);
    if (c[1] === '1' && Number(c[0]) > 1.5) assert.equal(c[3], String(Math.floor(45_000 / 1448) * 1448)); // const's 30 × 1500 B in whole 1448-byte packets
  }
  const delivered = r.summary.flows[0]!.deliveredBytes;
  assert.ok(Math.abs(bytes0 - delivered) <= 1, `${bytes0} vs ${delivered}`);
});

test('JSON result: parses back, no NaN/Infinity, per-flow and aggregate metrics present', async () => {
  const r = await result();
  const j = JSON.parse(JSON.stringify(toJson(r))) as {
    scenario: { name: string; flows: { alg: string; stopS: number | null }[] };
    summary: {
      utilisation: number;
      jain: number;
      flows: { throughputBps: number; rttMs: { p95: number } }[];
    };
  };
  assert.equal(j.scenario.name, 'outputs <&> test');
  assert.deepEqual(
    j.scenario.flows.map((f) => f.alg),
    ['cubic', 'const'],
  );
  assert.equal(j.scenario.flows[0]!.stopS, null, 'Infinity becomes null');
  assert.ok(j.summary.utilisation > 0 && j.summary.utilisation <= 1);
  assert.equal(j.summary.flows.length, 2);
  assert.ok(j.summary.flows.every((f) => f.throughputBps > 0 && f.rttMs.p95 >= 50));
  assert.ok(!/NaN|Infinity/.test(JSON.stringify(toJson(r))));
});

test('plots and HTML report: every SVG well-formed and embedded, table lists the flows', async () => {
  const r = await result();
  const svgs = plots(r);
  assert.deepEqual(Object.keys(svgs).sort(), [
    'cwnd.svg',
    'queue-delay.svg',
    'rtt.svg',
    'throughput-delay.svg',
    'throughput.svg',
  ]);
  for (const [name, svg] of Object.entries(svgs)) assert.equal(parseXml(svg).name, 'svg', name);
  assert.equal(
    findAll(parseXml(svgs['throughput-delay.svg']!), 'circle').length,
    2,
    'one point per algorithm',
  );
  // flows get distinct dash patterns (coinciding lines stay visible); the link is dashed '6 4'
  const dashes = new Set(
    findAll(parseXml(svgs['throughput.svg']!), 'polyline').map((l) => l.attrs['stroke-dasharray'] ?? ''),
  );
  assert.deepEqual([...dashes].sort(), ['', '6 4', '8 3']);
  // flow 1 starts at 1 s: marked on the time axis of every time plot
  for (const f of ['cwnd.svg', 'throughput.svg', 'rtt.svg', 'queue-delay.svg']) {
    assert.ok(svgs[f]!.includes('>1 starts</text>'), f);
  }
  // throughput is averaged over max(100 ms, RTT) bins: the 50 ms samples come in equal pairs
  assert.equal(throughputBinUs(r), 100_000);
  assert.match(svgs['throughput.svg']!, /mean per 100 ms; raw per sample in timeseries\.csv/);
  assert.deepEqual(Array.from(binMean(Float64Array.from([1, 3, NaN, 5, NaN, NaN]), 2)), [
    2,
    2,
    5,
    5,
    NaN,
    NaN,
  ]);
  const html = htmlReport(r, svgs);
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  const embedded = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  assert.equal(embedded.length, 5);
  for (const s of embedded) parseXml(s);
  assert.ok(html.includes('<title>portus sim: outputs &lt;&amp;&gt; test</title>'));
  const body = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
  assert.equal((body.match(/<tr>/g) ?? []).length, 2);
});

test('writeOutputs writes every file into the folder', async () => {
  const r = await result();
  const dir = mkdtempSync(join(tmpdir(), 'portus-sim-out-'));
  try {
    const report = writeOutputs(r, join(dir, 'nested'));
    assert.equal(report, join(dir, 'nested', 'report.html'));
    assert.deepEqual(readdirSync(join(dir, 'nested')).sort(), [
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
    JSON.parse(readFileSync(join(dir, 'nested', 'summary.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
