/**
 * `portus sweep SPEC`: run a matrix of simulations (algorithms × scenarios × seeds) on worker
 * threads, or through a Redis queue served by `portus worker`, into results.csv and a leaderboard.
 *
 * ```
 * portus sweep examples/sweeps/small.yaml --out out/small --jobs 2
 * portus sweep examples/sweeps/pantheon-like.yaml --queue redis://10.0.0.5:6379
 * ```
 * @module
 */
import { basename, extname, join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ErrorCodes, PortusError } from '../errors.ts';
import { defaultJobs, loadSpec, runSweep, type SweepProgress } from '../sweep/index.ts';

interface SweepCliOptions {
  out?: string;
  jobs?: string;
  queue?: string;
  queueName: string;
  progress: boolean;
}

/** Parse a positive integer option (USAGE error otherwise). */
export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new PortusError(ErrorCodes.USAGE, `${flag} expects a positive integer, got '${v}'`);
  return n;
}

/** Progress display: a bar on a terminal, one plain line per cell otherwise. */
function progressView(enabled: boolean): {
  start(total: number): void;
  update(p: SweepProgress): void;
  stop(): void;
} {
  const tty = enabled && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(total) {
      if (!tty || total === 0) return;
      bar = new cliProgress.SingleBar(
        {
          format: 'sweep [{bar}] {value}/{total} cells | {failed} failed | ETA {eta_formatted}',
          stream: process.stderr,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { failed: 0 });
    },
    update(p) {
      if (bar) return bar.update(p.done, { failed: p.failed });
      if (!enabled) return;
      const what = `${p.cell.group} · ${p.cell.alg} · seed ${p.cell.seed}`;
      const why = p.outcome.status === 'failed' ? `: ${p.outcome.error}` : '';
      console.error(`[${p.done}/${p.total}] ${p.outcome.status} ${p.cell.task.id} ${what}${why}`);
    },
    stop() {
      bar?.stop();
    },
  };
}

async function action(file: string, o: SweepCliOptions): Promise<void> {
  const spec = loadSpec(file);
  const jobs = o.jobs === undefined ? defaultJobs() : positiveInt('--jobs', o.jobs);
  if (o.queue !== undefined && o.jobs !== undefined) {
    throw new PortusError(
      ErrorCodes.USAGE,
      'with --queue, cells run on `portus worker` processes (give them --jobs)',
    );
  }
  const out = o.out ?? join('out', basename(file, extname(file)));
  const view = progressView(o.progress);
  let summary;
  try {
    summary = await runSweep(spec, {
      out,
      jobs,
      ...(o.queue !== undefined ? { queue: o.queue } : {}),
      queueName: o.queueName,
      onStart: (i) => {
        const where =
          o.queue !== undefined
            ? `queue ${o.queueName} at ${o.queue}`
            : `${jobs} thread${jobs === 1 ? '' : 's'}`;
        console.error(
          `portus sweep: ${i.cells} cells, ${i.finished} already finished in ${out}, ${i.toRun} to run on ${where}`,
        );
        view.start(i.toRun);
      },
      onProgress: (p) => view.update(p),
    });
  } finally {
    view.stop();
  }
  console.log(
    `${summary.cells} cells (${summary.ran} run now, ${summary.reused} reused), ${summary.failed} failed\n` +
      `results:     ${summary.resultsCsv}\nleaderboard: ${summary.leaderboard}`,
  );
  if (summary.failed > 0) process.exitCode = 1;
}

/** Register `portus sweep`. */
export function register(program: Command): void {
  program
    .command('sweep')
    .description(
      'run a matrix of simulations (algorithms × scenarios × seeds) in parallel; results.csv and a leaderboard',
    )
    .argument('<spec>', 'sweep spec, JSON or YAML (see docs/sweep.md)')
    .option('--out <dir>', 'output folder; finished cells in it are not rerun (default out/<spec name>)')
    .option('--jobs <n>', 'worker threads (default: one per core)')
    .option(
      '--queue <url>',
      'run the cells through this Redis queue (redis://host:port) on `portus worker` processes',
    )
    .option('--queue-name <name>', 'queue name', 'portus-sweep')
    .option('--no-progress', 'no progress bar or per-cell lines')
    .action(action);
}
