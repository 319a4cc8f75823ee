/**
 * The local runner: a pool of worker threads, each running one cell at a time (`--jobs N`). A cell
 * that throws is a failed outcome; a thread that dies fails its cell and is replaced.
 * @module
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CellOutcome } from './cell.ts';
import type { CellTask } from './spec.ts';

/** A pool of worker threads running cells. */
export interface Pool {
  /** Number of threads. */
  readonly size: number;
  /** Run one cell on the next free thread. Never rejects: failures are outcomes. */
  run(task: CellTask): Promise<CellOutcome>;
  /** Terminate every thread (pending cells resolve as failed). */
  close(): Promise<void>;
}

/**
 * How to start a thread: import the entry next to this file — `thread.js` in the compiled build,
 * `thread.ts` from the sources, after registering tsx in the thread (Node 20 carries no loader
 * hooks into worker threads, whether registered with `register()` or `--import` in `execArgv`).
 * Algorithm files get their loader in the thread on demand, as in `portus sim` (algorithms/user-module).
 */
function bootstrap(): string {
  const fromSource = extname(fileURLToPath(import.meta.url)) === '.ts';
  const entry = JSON.stringify(new URL(`./thread${fromSource ? '.ts' : '.js'}`, import.meta.url).href);
  if (!fromSource) return `import(${entry});`;
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `(async () => { (await import(${tsx})).register(); await import(${entry}); })();`;
}

/** The default `--jobs`: one thread per core. */
export function defaultJobs(): number {
  return availableParallelism();
}

interface Slot {
  worker: Worker;
  busy: { task: CellTask; done: (o: CellOutcome) => void } | null;
}

/** Start a pool of `size` worker threads (lazily, as cells arrive). */
export function createPool(size: number = defaultJobs()): Pool {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`pool size must be a positive integer, got ${size}`);
  const code = bootstrap();
  const slots: Slot[] = [];
  const waiting: { task: CellTask; done: (o: CellOutcome) => void }[] = [];
  let closed = false;

  const failed = (task: CellTask, error: string): CellOutcome => ({
    id: task.id,
    status: 'failed',
    error,
    wallMs: 0,
    files: {},
  });

  function spawn(): Slot {
    const slot: Slot = { worker: new Worker(code, { eval: true }), busy: null };
    slot.worker.on('message', (o: CellOutcome) => {
      const b = slot.busy;
      slot.busy = null;
      b?.done(o);
      next(slot);
    });
    const died = (why: string): void => {
      const i = slots.indexOf(slot);
      if (i < 0) return;
      slots.splice(i, 1);
      const b = slot.busy;
      slot.busy = null;
      b?.done(failed(b.task, `worker thread died: ${why}`));
      if (!closed && waiting.length > 0) next(spawn());
    };
    slot.worker.on('error', (e) => died(e.message));
    slot.worker.on('exit', (code) => died(`exit code ${code}`));
    slots.push(slot);
    return slot;
  }

  function next(slot: Slot): void {
    const job = waiting.shift();
    if (job === undefined || closed) return;
    slot.busy = job;
    slot.worker.postMessage(job.task);
  }

  return {
    size,
    run(task) {
      return new Promise<CellOutcome>((done) => {
        if (closed) return done(failed(task, 'the pool is closed'));
        waiting.push({ task, done });
        const idle = slots.find((s) => s.busy === null);
        if (idle) next(idle);
        else if (slots.length < size) next(spawn());
      });
    },
    async close() {
      closed = true;
      for (const w of waiting.splice(0)) w.done(failed(w.task, 'the pool was closed'));
      const all = slots.splice(0);
      for (const s of all) s.busy?.done(failed(s.busy.task, 'the pool was closed'));
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}
