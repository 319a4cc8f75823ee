/**
 * What a simulation run produces for people and machines: the terminal summary table, the JSON
 * document, the CSV time series, the SVG plots, the HTML report, and writing them to a folder.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Summary } from './metrics.ts';
import type { TimeSeries } from './network.ts';
import { lineChart, throughputDelayChart, escapeXml, type XMarker } from './plot/svg.ts';
import type { ResolvedScenario } from './scenario.ts';
import { eventsCsv, type EventLog } from './events-log.ts';
import { describeFailure, type AlgorithmFailure } from './guard.ts';
import { formatRate } from './units.ts';

/** The outcome of one run. */
export interface SimResult {
  scenario: ResolvedScenario;
  summary: Summary;
  series: TimeSeries;
  /** Wall-clock time the run took, ms. */
  wallMs: number;
  /** 'in-process' (simulated-time agent) or 'unix' (real-time, agent process). */
  agentMode: string;
  /** Messages exchanged with the agent. */
  agentMessages: { toAgent: number; fromAgent: number };
  /** Exceptions thrown by algorithm code (the first 100; a run only continues past them with keepGoing). */
  failures: AlgorithmFailure[];
  /** Losses detected, timeouts and window cuts, in time order (events.csv). */
  events: EventLog;
  /** Sentences explaining the outcome (the demo writes them), shown at the top of the report. */
  notes?: string[];
}

const secs = (v: number): string => (Number.isFinite(v) ? `${+v.toFixed(3)} s` : 'end');

/** How the metrics were windowed, in words. */
export function describeWindow(r: SimResult): string {
  const w = r.summary.window;
  return w.fromS > 0
    ? `metrics over [${+w.fromS.toFixed(3)} s, ${+w.toS.toFixed(3)} s] (warmup ${+w.fromS.toFixed(3)} s excluded)`
    : `metrics over the whole run [0, ${+w.toS.toFixed(3)} s]`;
}

/** Link, buffer, duration, loss and ECN, in one line (every summary and report states them). */
export function describeSetup(r: SimResult): string {
  const sc = r.scenario;
  return (
    `${sc.linkLabel}, buffer ${(sc.net.bufferBytes / 1000).toFixed(1)} kB ` +
    `(${(sc.net.bufferBytes / Math.max(1, sc.bdpBytes)).toFixed(2)} BDP), ` +
    `${(sc.net.durationUs / 1e6).toFixed(1)} s simulated` +
    (sc.net.lossRate > 0 ? `, random loss ${(sc.net.lossRate * 100).toPrecision(3)}%` : '') +
    (Number.isFinite(sc.net.ecnThresholdBytes)
      ? `, ECN at ${(sc.net.ecnThresholdBytes / 1000).toFixed(1)} kB`
      : '')
  );
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((v, c) => (c <= 1 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  '))
    .join('\n');
}

/** The terminal summary: one line per flow, then the aggregate. */
export function formatTable(r: SimResult): string {
  const s = r.summary;
  const sc = r.scenario;
  const head = [`${sc.name}: ${describeSetup(r)}`, describeWindow(r)];
  const errors = s.flows.some((f) => f.algorithmErrors > 0);
  const rows: string[][] = [
    [
      'flow',
      'alg',
      'base rtt',
      'start',
      'stop',
      'throughput',
      'rtt p50',
      'rtt p95',
      'qdelay p95',
      'sent',
      'retx',
      'drops',
      'timeouts',
      ...(errors ? ['errors'] : []),
    ],
  ];
  for (const f of s.flows) {
    const cfg = sc.net.flows[f.flow]!;
    rows.push([
      String(f.flow),
      f.alg,
      `${+f.propRttMs.toFixed(3)} ms`,
      secs(cfg.startUs / 1e6),
      secs(cfg.stopUs / 1e6),
      formatRate(f.throughputBps),
      `${ms(f.rttMs.p50)} ms`,
      `${ms(f.rttMs.p95)} ms`,
      `${ms(f.queueDelayMs.p95)} ms`,
      String(f.sentPkts),
      String(f.retransPkts),
      String(f.droppedPkts),
      String(f.timeouts),
      ...(errors ? [String(f.algorithmErrors)] : []),
    ]);
  }
  const agg = [
    `link: ${formatRate(s.linkThroughputBps)} of ${formatRate(s.capacityBps)} ` +
      `(utilisation ${(s.utilisation * 100).toFixed(1)}%), Jain's index ${s.jain.toFixed(3)}`,
    `queueing delay: p50 ${ms(s.queueDelayMs.p50)} ms, p95 ${ms(s.queueDelayMs.p95)} ms, ` +
      `p99 ${ms(s.queueDelayMs.p99)} ms, max ${ms(s.queueDelayMs.max)} ms; ` +
      `drops: ${s.tailDrops} tail, ${s.randomDrops} random; ECN marks: ${s.ecnMarks}`,
    `${s.packets} packets, ${s.events} events in ${(r.wallMs / 1000).toFixed(2)} s wall ` +
      `(${Math.round(s.packets / Math.max(1e-3, r.wallMs / 1000))} packets/s); agent ${r.agentMode}, ` +
      `${r.agentMessages.toAgent} messages to it, ${r.agentMessages.fromAgent} from it`,
  ];
  if (errors) {
    const n = s.flows.reduce((a, f) => a + f.algorithmErrors, 0);
    agg.push(`algorithm errors: ${n} (kept going); first: ${describeFailure(r.failures[0]!)}`);
  }
  return [...head, '', pad(rows), '', ...agg].join('\n');
}

function clean(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = clean(x);
    return o;
  }
  return v;
}

/** The machine-readable result (`--json`, summary.json). Non-finite numbers become null. */
export function toJson(r: SimResult): object {
  const sc = r.scenario;
  return clean({
    scenario: {
      name: sc.name,
      link: sc.linkLabel,
      bufferBytes: sc.net.bufferBytes,
      bdpBytes: sc.bdpBytes,
      durationS: sc.net.durationUs / 1e6,
      lossRate: sc.net.lossRate,
      ecnThresholdBytes: sc.net.ecnThresholdBytes,
      seed: sc.net.seed,
      ipcDelayUs: sc.ipcDelayUs,
      flows: sc.net.flows.map((f, i) => ({
        alg: sc.flows[i]!.alg,
        params: sc.flows[i]!.params,
        rttMs: f.rttUs / 1000,
        startS: f.startUs / 1e6,
        stopS: f.stopUs / 1e6,
        bytes: f.bytes,
      })),
    },
    summary: r.summary,
    events: {
      logged: r.events.events.length,
      notLogged: r.events.dropped,
      cuts: r.events.events.filter((e) => e.kind === 'cut').length,
      timeouts: r.events.events.filter((e) => e.kind === 'timeout').length,
    },
    algorithmFailures: r.failures.map(describeFailure),
    agent: { mode: r.agentMode, ...r.agentMessages },
    wallMs: r.wallMs,
  }) as object;
}

/**
 * CSV time series, one row per (sample, flow): `time_s,flow,alg,cwnd_bytes,rate_bps,
 * throughput_bps,rtt_ms,queue_bytes,queue_delay_ms,link_throughput_bps,ssthresh_bytes,
 * send_rate_bps`. Empty cells mean "no value" (e.g. no RTT sample in the interval, or the flow
 * was not running). `rate_bps` is the pacing rate the algorithm set (0: none); `send_rate_bps` is
 * that rate, else cwnd / smoothed RTT; `ssthresh_bytes` is the window after the latest cut.
 * Throughput is raw per sample interval (the plots smooth it; this file does not).
 */
export function toCsv(r: SimResult): string {
  const s = r.series;
  const algs = r.scenario.flows;
  const v = (x: number, digits = 3): string => (Number.isFinite(x) ? String(+x.toFixed(digits)) : '');
  const lines = [
    'time_s,flow,alg,cwnd_bytes,rate_bps,throughput_bps,rtt_ms,queue_bytes,queue_delay_ms,link_throughput_bps,ssthresh_bytes,send_rate_bps',
  ];
  for (let k = 0; k < s.length; k++) {
    for (let i = 0; i < s.cwnd.length; i++) {
      lines.push(
        [
          v(s.t[k]!, 6),
          i,
          algs[i]!.alg,
          v(s.cwnd[i]![k]!, 0),
          v(s.rate[i]![k]!, 0),
          v(s.throughput[i]![k]!, 0),
          v(s.rtt[i]![k]!),
          v(s.queueBytes[k]!, 0),
          v(s.queueDelay[k]!),
          v(s.linkThroughput[k]!, 0),
          v(s.ssthresh[i]![k]!, 0),
          v(s.sendRate[i]![k]!, 0),
        ].join(','),
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** Dash patterns cycled over the flows, so flows whose lines coincide stay visible. */
const DASHES = ['', '8 3', '2 3', '10 3 2 3'];

/**
 * Average `a` over bins of `bin` samples (NaN-aware; a bin with no value is NaN), each bin's
 * value repeated over its samples so the x axis is unchanged.
 */
export function binMean(a: Float64Array, bin: number): Float64Array {
  if (bin <= 1) return a;
  const out = new Float64Array(a.length);
  for (let s = 0; s < a.length; s += bin) {
    const e = Math.min(a.length, s + bin);
    let sum = 0;
    let n = 0;
    for (let i = s; i < e; i++) {
      if (Number.isFinite(a[i]!)) {
        sum += a[i]!;
        n++;
      }
    }
    out.fill(n > 0 ? sum / n : NaN, s, e);
  }
  return out;
}

/** Throughput plot bin: max(100 ms, the longest base RTT), in whole sample intervals. */
export function throughputBinUs(r: SimResult): number {
  const iv = r.scenario.net.sampleIntervalUs;
  const longest = Math.max(...r.scenario.net.flows.map((f) => f.rttUs));
  return Math.max(1, Math.ceil(Math.max(100_000, longest) / iv)) * iv;
}

/** Flow starts and stops, as markers on the time axis. */
function flowMarkers(r: SimResult): XMarker[] {
  const m: XMarker[] = [];
  r.scenario.net.flows.forEach((f, i) => {
    if (f.startUs > 0) m.push({ x: f.startUs / 1e6, label: `${i} starts` });
    if (Number.isFinite(f.stopUs)) m.push({ x: f.stopUs / 1e6, label: `${i} stops` });
  });
  const w = r.summary.window;
  if (w.fromS > 0) m.push({ x: w.fromS, label: 'metrics from here' });
  return m;
}

/** The SVG plots, by file name. */
export function plots(r: SimResult): Record<string, string> {
  const s = r.series;
  const t = s.t.subarray(0, s.length);
  const names = r.scenario.flows.map((f, i) => `flow ${i} (${f.alg})`);
  const per = (
    arrs: Float64Array[],
    scale: number,
    bin = 1,
  ): { name: string; x: Float64Array; y: Float64Array; dash: string }[] =>
    arrs.map((a, i) => ({
      name: names[i]!,
      x: t,
      y: binMean(a.subarray(0, s.length), bin).map((v) => v * scale),
      dash: DASHES[i % DASHES.length]!,
    }));
  const binUs = throughputBinUs(r);
  const bin = Math.round(binUs / r.scenario.net.sampleIntervalUs);
  const markers = flowMarkers(r);
  return {
    'cwnd.svg': lineChart({
      title: 'Congestion window per flow',
      xLabel: 'time (s)',
      yLabel: 'cwnd (kB)',
      series: per(s.cwnd, 1e-3),
      markers,
    }),
    'throughput.svg': lineChart({
      title: `Throughput per flow (mean per ${+(binUs / 1000).toFixed(1)} ms; raw per sample in timeseries.csv)`,
      xLabel: 'time (s)',
      yLabel: 'throughput (Mbit/s)',
      series: [
        ...per(s.throughput, 1e-6, bin),
        {
          name: 'link',
          x: t,
          y: binMean(s.linkThroughput.subarray(0, s.length), bin).map((v) => v * 1e-6),
          dashed: true,
        },
      ],
      markers,
    }),
    'rtt.svg': lineChart({
      title: 'RTT per flow (mean per interval)',
      xLabel: 'time (s)',
      yLabel: 'RTT (ms)',
      series: per(s.rtt, 1),
      markers,
    }),
    'queue-delay.svg': lineChart({
      title: 'Queueing delay at the bottleneck (mean per interval)',
      xLabel: 'time (s)',
      yLabel: 'queueing delay (ms)',
      series: [{ name: 'queueing delay', x: t, y: s.queueDelay.subarray(0, s.length) }],
      markers,
    }),
    'throughput-delay.svg': throughputDelayChart({
      title: 'Throughput vs 95th-percentile queueing delay, per flow and per algorithm',
      yLabel: 'mean throughput per flow (Mbit/s)',
      points: [
        ...r.summary.flows.map((f) => ({
          label: `flow ${f.flow} (${f.alg})`,
          x: f.queueDelayMs.p95,
          y: f.throughputBps / 1e6,
        })),
        ...r.summary.algorithms
          .filter((a) => a.flows > 1)
          .map((a) => ({
            label: `${a.alg}: mean of ${a.flows} flows`,
            x: a.queueDelayP95Ms,
            y: a.throughputBps / 1e6,
          })),
      ],
    }),
  };
}

/** One self-contained HTML page: scenario, summary table, every plot inline. */
export function htmlReport(r: SimResult, svgs: Record<string, string> = plots(r)): string {
  const s = r.summary;
  const sc = r.scenario;
  const e = escapeXml;
  const flowRows = s.flows
    .map(
      (f) =>
        `<tr><td>${f.flow}</td><td>${e(f.alg)}</td><td>${+f.propRttMs.toFixed(3)}</td>` +
        `<td>${e(secs(sc.net.flows[f.flow]!.startUs / 1e6))}</td><td>${e(secs(sc.net.flows[f.flow]!.stopUs / 1e6))}</td>` +
        `<td>${e(formatRate(f.throughputBps))}</td>` +
        `<td>${ms(f.rttMs.p50)}</td><td>${ms(f.rttMs.p95)}</td><td>${ms(f.queueDelayMs.p95)}</td>` +
        `<td>${f.sentPkts}</td><td>${f.retransPkts}</td><td>${f.droppedPkts}</td><td>${f.timeouts}</td></tr>`,
    )
    .join('\n');
  const figures = Object.entries(svgs)
    .map(([name, svg]) => `<figure id="${e(name)}">${svg.replace(/^<\?xml[^>]*>\s*/, '')}</figure>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(`portus sim: ${sc.name}`)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 780px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
figure { margin: 1.5em 0; }
code { background: #f3f3f3; padding: 1px 4px; }
</style>
</head>
<body>
<h1>${e(sc.name)}</h1>
<p>Link ${e(describeSetup(r))}, seed ${sc.net.seed}, agent ${e(r.agentMode)}.
${e(describeWindow(r))}.</p>
${r.notes !== undefined ? `<h2>What happened</h2>\n<pre>${e(r.notes.join('\n'))}</pre>` : ''}
<h2>Summary</h2>
<p>Link throughput ${e(formatRate(s.linkThroughputBps))} of ${e(formatRate(s.capacityBps))}
(utilisation ${(s.utilisation * 100).toFixed(1)}%); Jain's fairness index ${s.jain.toFixed(3)};
queueing delay p50 ${ms(s.queueDelayMs.p50)} ms, p95 ${ms(s.queueDelayMs.p95)} ms, p99 ${ms(s.queueDelayMs.p99)} ms;
${s.tailDrops} tail drops, ${s.randomDrops} random drops, ${s.ecnMarks} ECN marks.</p>
<table>
<thead><tr><th>flow</th><th>alg</th><th>base RTT (ms)</th><th>start</th><th>stop</th><th>throughput</th><th>RTT p50 (ms)</th><th>RTT p95 (ms)</th><th>queueing p95 (ms)</th><th>sent</th><th>retx</th><th>drops</th><th>timeouts</th></tr></thead>
<tbody>
${flowRows}
</tbody>
</table>
<h2>Plots</h2>
${figures}
</body>
</html>
`;
}

/**
 * Write summary.json, timeseries.csv, every SVG and report.html into `dir` (created if needed).
 * Returns the absolute path of report.html.
 */
export function writeOutputs(r: SimResult, dir: string): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const svgs = plots(r);
  writeFileSync(join(abs, 'summary.json'), JSON.stringify(toJson(r), null, 2) + '\n');
  writeFileSync(join(abs, 'timeseries.csv'), toCsv(r));
  writeFileSync(join(abs, 'events.csv'), eventsCsv(r.events));
  for (const [name, svg] of Object.entries(svgs)) writeFileSync(join(abs, name), svg);
  const report = join(abs, 'report.html');
  writeFileSync(report, htmlReport(r, svgs));
  return report;
}
