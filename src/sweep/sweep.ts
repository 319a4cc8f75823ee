/**
 * Running a sweep: expand the spec, skip cells already finished in the output folder, run the rest
 * on local worker threads or through the queue, store each outcome as it arrives, then write
 * results.csv and the leaderboard.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CellOutcome } from './cell.ts';
import { leaderboardHtml } from './leaderboard.ts';
import { createPool, defaultJobs } from './pool.ts';
import { runOnQueue } from './queue.ts';
import { cellDir, readResult, resultsCsv, writeResult, type StoredResult } from './results.ts';
import { expandSpec, standaloneScenario, type Cell, type CellTask, type SweepSpec } from './spec.ts';

/** Progress of a sweep, after each finished cell. */
export interface SweepProgress {
  /** Cells to run in this invocation (finished ones excluded). */
  total: number;
  done: number;
  failed: number;
  /** The cell that just finished (the first of the spec's cells with its id). */
  cell: Cell;
  outcome: CellOutcome;
}

/** Options of {@link runSweep}. */
export interface SweepOptions {
  /** Output folder (created if needed). */
  out: string;
  /** Worker threads for a local run (default: one per core). */
  jobs?: number;
  /** Run through this Redis queue (`redis://host:port`) instead of local threads. */
  queue?: string;
  /** Queue name (default `portus-sweep`). */
  queueName?: string;
  /** Called once the cells to run are known. */
  onStart?(info: { cells: number; toRun: number; finished: number }): void;
  onProgress?(p: SweepProgress): void;
}

/** What a finished sweep reports. */
export interface SweepSummary {
  cells: number;
  /** Cells run in this invocation. */
  ran: number;
  /** Cells found finished in the output folder and not rerun. */
  reused: number;
  /** Cells whose result is a failure. */
  failed: number;
  resultsCsv: string;
  leaderboard: string;
}

/** Write results.csv and index.html for the results at hand. */
export function writeSummaryFiles(
  out: string,
  spec: SweepSpec,
  cells: readonly Cell[],
  results: ReadonlyMap<string, StoredResult>,
): { resultsCsv: string; leaderboard: string } {
  const csv = join(out, 'results.csv');
  const html = join(out, 'index.html');
  writeFileSync(csv, resultsCsv(spec, cells, results));
  writeFileSync(html, leaderboardHtml(spec, cells, results));
  return { resultsCsv: csv, leaderboard: html };
}

/** Run a sweep to completion. Failed cells are reported in the results, never thrown. */
export async function runSweep(spec: SweepSpec, o: SweepOptions): Promise<SweepSummary> {
  const cells = expandSpec(spec);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const results = new Map<string, StoredResult>();
  const firstCell = new Map<string, Cell>();
  const todo: CellTask[] = [];
  for (const c of cells) {
    if (firstCell.has(c.task.id)) continue; // the same simulation twice in a spec runs once
    firstCell.set(c.task.id, c);
    const r = readResult(out, c.task.id);
    if (r?.status === 'ok') results.set(c.task.id, r);
    else todo.push(c.task);
  }
  const reused = firstCell.size - todo.length;
  o.onStart?.({ cells: cells.length, toRun: todo.length, finished: reused });
  let done = 0;
  let failed = 0;
  const onOutcome = (oc: CellOutcome): void => {
    const cell = firstCell.get(oc.id);
    if (cell) {
      // the cell as an ordinary scenario: `portus sim cells/<id>/scenario.json` reruns it alone
      mkdirSync(join(out, cellDir(oc.id)), { recursive: true });
      writeFileSync(
        join(out, cellDir(oc.id), 'scenario.json'),
        JSON.stringify(standaloneScenario(cell.task), null, 2) + '\n',
      );
    }
    writeResult(out, oc);
    const { files: _files, plainFiles: _plain, ...stored } = oc;
    results.set(oc.id, stored);
    done++;
    if (oc.status === 'failed') failed++;
    if (cell) o.onProgress?.({ total: todo.length, done, failed, cell, outcome: oc });
  };
  if (o.queue !== undefined && todo.length > 0) {
    await runOnQueue(todo, { url: o.queue, name: o.queueName, onOutcome });
  } else if (todo.length > 0) {
    const pool = createPool(Math.min(o.jobs ?? defaultJobs(), todo.length));
    try {
      await Promise.all(todo.map((t) => pool.run(t).then(onOutcome)));
    } finally {
      await pool.close();
    }
  }
  const files = writeSummaryFiles(out, spec, cells, results);
  const failedCells = cells.filter((c) => results.get(c.task.id)?.status !== 'ok').length;
  return { cells: cells.length, ran: todo.length, reused, failed: failedCells, ...files };
}
