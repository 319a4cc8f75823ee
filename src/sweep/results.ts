/**
 * A sweep's output folder: one sub-folder per cell (`cells/<id>/result.json`, `report.html`,
 * `summary.json`), `results.csv` and the leaderboard. A cell whose result.json says `ok` is finished
 * and is not rerun; results are keyed by cell id, so writing one twice writes the same bytes.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CellMetrics, CellOutcome } from './cell.ts';
import type { Cell, SweepSpec } from './spec.ts';

/** What result.json holds (the outcome without its files). */
export type StoredResult = Omit<CellOutcome, 'files' | 'plainFiles'>;

/** The folder of one cell, relative to the output folder. */
export const cellDir = (id: string): string => `cells/${id}`;

/** Read a cell's stored result, or null when it has none (or an unreadable one). */
export function readResult(out: string, id: string): StoredResult | null {
  const p = join(out, cellDir(id), 'result.json');
  if (!existsSync(p)) return null;
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as StoredResult;
    return r.id === id && (r.status === 'ok' || r.status === 'failed') ? r : null;
  } catch {
    return null; // a torn or foreign file: the cell runs again
  }
}

/** Store a cell's outcome: its files first, result.json last (renamed into place). */
export function writeResult(out: string, o: CellOutcome): void {
  const dir = join(out, cellDir(o.id));
  mkdirSync(dir, { recursive: true });
  for (const [name, packed] of Object.entries(o.files)) {
    if (!/^[\w.-]+$/.test(name)) continue; // file names come from cell.ts; never a path
    writeFileSync(
      join(dir, name),
      o.plainFiles === true ? packed : gunzipSync(Buffer.from(packed, 'base64')),
    );
  }
  const { files: _files, plainFiles: _plain, ...stored } = o;
  const tmp = join(dir, `result.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(stored, null, 2) + '\n');
  renameSync(tmp, join(dir, 'result.json'));
}

/** A fixed-decimals number; empty for NaN and infinities. */
export function fixed(v: number | undefined, digits: number): string {
  return v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : '';
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const METRIC_COLUMNS: [string, (m: CellMetrics) => string][] = [
  ['alg_tput_mbps', (m) => fixed(m.algThroughputBps / 1e6, 3)],
  ['alg_qdelay_p95_ms', (m) => fixed(m.algQueueDelayP95Ms, 3)],
  ['alg_rtt_p95_ms', (m) => fixed(m.algRttP95Ms, 3)],
  ['link_tput_mbps', (m) => fixed(m.linkThroughputBps / 1e6, 3)],
  ['utilisation', (m) => fixed(m.utilisation, 4)],
  ['jain', (m) => fixed(m.jain, 4)],
  ['qdelay_p50_ms', (m) => fixed(m.queueDelayP50Ms, 3)],
  ['qdelay_p95_ms', (m) => fixed(m.queueDelayP95Ms, 3)],
  ['qdelay_p99_ms', (m) => fixed(m.queueDelayP99Ms, 3)],
  ['flows', (m) => String(m.flows)],
  ['sent_pkts', (m) => String(m.sentPkts)],
  ['retrans_pkts', (m) => String(m.retransPkts)],
  ['timeouts', (m) => String(m.timeouts)],
  ['tail_drops', (m) => String(m.tailDrops)],
  ['random_drops', (m) => String(m.randomDrops)],
  ['ecn_marks', (m) => String(m.ecnMarks)],
];

/**
 * results.csv: one row per cell in expansion order; fixed decimals, no timings, so the same spec
 * gives the same bytes however and wherever its cells ran. Cells without a result are `pending`.
 */
export function resultsCsv(
  spec: SweepSpec,
  cells: readonly Cell[],
  results: ReadonlyMap<string, StoredResult>,
): string {
  const head = [
    'index',
    'cell',
    'scenario',
    ...spec.axes.map((a) => a.name),
    'alg',
    'seed',
    'status',
    ...METRIC_COLUMNS.map(([n]) => n),
    'error',
  ];
  const lines = [head.join(',')];
  for (const c of cells) {
    const r = results.get(c.task.id);
    const m = r?.status === 'ok' ? r.metrics : undefined;
    const row = [
      String(c.index),
      c.task.id,
      c.group,
      ...spec.axes.map((a) => c.labels[a.name]!),
      c.alg,
      String(c.seed),
      r?.status ?? 'pending',
      ...METRIC_COLUMNS.map(([, f]) => (m ? f(m) : '')),
      r?.status === 'failed' ? (r.error ?? '').replace(/\s+/g, ' ').trim() : '',
    ];
    lines.push(row.map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}
