/**
 * The sweep's HTML leaderboard (`index.html` in the output folder). Per scenario (one combination
 * of axis values): a throughput–delay scatter with one point per algorithm (mean over seeds, ±1
 * standard deviation as whiskers) and a ranking table by power (throughput ÷ p95 RTT), each seed
 * linking to its cell's full report.
 * @module
 */
import { escapeXml as e, throughputDelayChart } from '../sim/index.ts';
import { cellDir, fixed, type StoredResult } from './results.ts';
import type { Cell, SweepSpec } from './spec.ts';

/** Mean and (population) standard deviation of the finite values. */
export function meanSd(xs: readonly number[]): { mean: number; sd: number; n: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, sd, n: v.length };
}

/** One algorithm's standing in one scenario. */
export interface Standing {
  alg: string;
  /** Cells of this algorithm in the scenario (one per seed). */
  cells: Cell[];
  ok: number;
  throughputMbps: { mean: number; sd: number };
  queueDelayP95Ms: { mean: number; sd: number };
  rttP95Ms: { mean: number; sd: number };
  utilisation: number;
  retransPkts: number;
  timeouts: number;
  /** Mean throughput (Mbit/s) ÷ mean p95 RTT (s): Kleinrock's power; higher is better. */
  power: number;
}

/** Rank the algorithms of one scenario: by power, algorithms without a finished cell last. */
export function standings(cells: readonly Cell[], results: ReadonlyMap<string, StoredResult>): Standing[] {
  const byAlg = new Map<string, Cell[]>();
  for (const c of cells) byAlg.set(c.alg, [...(byAlg.get(c.alg) ?? []), c]);
  const out = [...byAlg].map(([alg, cs]): Standing => {
    const ms = cs
      .map((c) => results.get(c.task.id))
      .flatMap((r) => (r?.status === 'ok' && r.metrics ? [r.metrics] : []));
    const tput = meanSd(ms.map((m) => m.algThroughputBps / 1e6));
    const rtt = meanSd(ms.map((m) => m.algRttP95Ms));
    return {
      alg,
      cells: cs,
      ok: ms.length,
      throughputMbps: tput,
      queueDelayP95Ms: meanSd(ms.map((m) => m.algQueueDelayP95Ms)),
      rttP95Ms: rtt,
      utilisation: meanSd(ms.map((m) => m.utilisation)).mean,
      retransPkts: meanSd(ms.map((m) => m.retransPkts)).mean,
      timeouts: meanSd(ms.map((m) => m.timeouts)).mean,
      power: rtt.mean > 0 ? tput.mean / (rtt.mean / 1000) : NaN,
    };
  });
  const key = (s: Standing): number => (Number.isFinite(s.power) ? s.power : -Infinity);
  return out.sort((a, b) => key(b) - key(a)); // stable: ties keep the spec's order
}

const pm = (v: { mean: number; sd: number }, d: number): string =>
  Number.isFinite(v.mean) ? `${v.mean.toFixed(d)} ± ${fixed(v.sd, d)}` : '–';

function seedLinks(s: Standing, results: ReadonlyMap<string, StoredResult>): string {
  return s.cells
    .map((c) => {
      const r = results.get(c.task.id);
      const href = `${cellDir(c.task.id)}/report.html`;
      if (r?.status === 'ok') return `<a href="${e(href)}" title="cell ${e(c.task.id)}">${c.seed}</a>`;
      const why = r?.status === 'failed' ? `failed: ${r.error ?? ''}` : 'not run yet';
      return `<span class="bad" title="${e(why)}">${c.seed}✗</span>`;
    })
    .join(' ');
}

function scenarioSection(
  group: string,
  cells: Cell[],
  results: ReadonlyMap<string, StoredResult>,
  n: number,
): string {
  const st = standings(cells, results);
  const svg = throughputDelayChart({
    title: group,
    yLabel: 'throughput per flow (Mbit/s)',
    // in the spec's order, so each algorithm keeps its colour in every scenario
    points: [...st]
      .sort((a, b) => a.cells[0]!.index - b.cells[0]!.index)
      .map((s) => ({
        label: s.alg,
        x: s.queueDelayP95Ms.mean,
        y: s.throughputMbps.mean,
        xErr: s.queueDelayP95Ms.sd,
        yErr: s.throughputMbps.sd,
      })),
  }).replace(/^<\?xml[^>]*>\s*/, '');
  const rows = st
    .map(
      (s, i) =>
        `<tr><td>${s.ok > 0 ? i + 1 : '–'}</td><td>${e(s.alg)}</td><td>${fixed(s.power, 1) || '–'}</td>` +
        `<td>${pm(s.throughputMbps, 2)}</td><td>${pm(s.queueDelayP95Ms, 1)}</td><td>${pm(s.rttP95Ms, 1)}</td>` +
        `<td>${fixed(s.utilisation * 100, 1) || '–'}</td><td>${fixed(s.retransPkts, 1) || '–'}</td>` +
        `<td>${fixed(s.timeouts, 1) || '–'}</td><td class="l">${seedLinks(s, results)}</td></tr>`,
    )
    .join('\n');
  return `<section id="s${n}">
<h2>${e(group)}</h2>
<figure>${svg}</figure>
<table>
<thead><tr><th>#</th><th>algorithm</th><th>power</th><th>throughput (Mbit/s)</th><th>queueing p95 (ms)</th><th>RTT p95 (ms)</th><th>utilisation (%)</th><th>retx</th><th>timeouts</th><th class="l">seeds (reports)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

/** The leaderboard page: links are relative, so the output folder can be moved or served as is. */
export function leaderboardHtml(
  spec: SweepSpec,
  cells: readonly Cell[],
  results: ReadonlyMap<string, StoredResult>,
): string {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  let ok = 0;
  let failed = 0;
  for (const c of cells) {
    const s = results.get(c.task.id)?.status;
    if (s === 'ok') ok++;
    else if (s === 'failed') failed++;
  }
  const sections = [...groups].map(([g, cs], i) => scenarioSection(g, cs, results, i)).join('\n');
  const index = [...groups.keys()].map((g, i) => `<li><a href="#s${i}">${e(g)}</a></li>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(`portus sweep: ${spec.name}`)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 900px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:nth-child(2), td:nth-child(2), .l { text-align: left; }
.bad { color: #b00020; }
figure { margin: 1.5em 0; }
</style>
</head>
<body>
<h1>${e(spec.name)}</h1>
<p>${cells.length} cells: ${ok} finished, ${failed} failed, ${cells.length - ok - failed} not run;
${groups.size} scenario${groups.size === 1 ? '' : 's'} × ${spec.algorithms.length} algorithm${spec.algorithms.length === 1 ? '' : 's'} × ${spec.seeds.length} seed${spec.seeds.length === 1 ? '' : 's'}.
Points are means over seeds with ±1 standard deviation; algorithms are ranked by power, mean throughput ÷ mean p95 RTT
(Mbit/s per second of RTT; higher is better). Throughput and delay are those of the algorithm under test's flows.
Each seed links to its cell's report; all rows are in <a href="results.csv">results.csv</a>.</p>
<ul>
${index}
</ul>
${sections}
</body>
</html>
`;
}
