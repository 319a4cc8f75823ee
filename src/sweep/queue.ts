/**
 * Distributed sweeps on BullMQ (Redis): `portus sweep --queue redis://…` enqueues cells, `portus
 * worker --queue redis://…` (on any number of machines) runs them.
 *
 * - A job's id is its cell id, so enqueueing a cell that is already queued, running or finished
 *   is a no-op: reruns are idempotent, and sweeps sharing cells share their results.
 * - A job's return value is the cell's outcome (metrics and gzip'd report files); it stays in Redis
 *   as the result store, keyed by cell id, and the sweep copies it into its output folder.
 * - A worker that dies mid-cell stops renewing the job's lock; after `lockDuration` another
 *   worker's stalled-job check (every `stalledInterval`) moves the job back to the wait list and a
 *   live worker runs it again (up to `maxStalledCount` times, then the cell is reported failed).
 *   Cells are deterministic, so a cell run twice gives the same result.
 * @module
 */
import { Job, Queue, Worker, type ConnectionOptions } from 'bullmq';
import { ErrorCodes, PortusError } from '../errors.ts';
import type { CellOutcome } from './cell.ts';
import { createPool, defaultJobs } from './pool.ts';
import type { CellTask } from './spec.ts';

/** Default queue name (`--queue-name`). */
export const DEFAULT_QUEUE_NAME = 'portus-sweep';

/** Parse `redis://[user:password@]host[:port][/db]` into connection options. */
export function parseRedisUrl(url: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PortusError(ErrorCodes.USAGE, `--queue expects redis://HOST:PORT, got '${url}'`);
  }
  if (u.protocol !== 'redis:')
    throw new PortusError(ErrorCodes.USAGE, `--queue expects a redis:// URL, got '${url}'`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) {
    throw new PortusError(ErrorCodes.USAGE, `--queue: '${u.pathname.slice(1)}' is not a database number`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined ? { db } : {}),
  };
}

function connection(url: string): ConnectionOptions {
  // maxRetriesPerRequest: null is what BullMQ requires of its blocking connections
  return { ...parseRedisUrl(url), maxRetriesPerRequest: null };
}

/** Fail fast with a clear error when Redis does not answer (ioredis would retry for ever). */
async function ready(q: Queue, url: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  q.on('error', (e) => {
    last = e.message; // connection errors surface through the calls below
  });
  try {
    await Promise.race([
      q.waitUntilReady(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    await q.close().catch(() => {});
    const why = last !== '' ? `${(e as Error).message} (${last})` : (e as Error).message;
    throw new PortusError(ErrorCodes.SWEEP_QUEUE, `cannot reach the queue at ${url}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link runOnQueue}. */
export interface QueueRunOptions {
  url: string;
  name?: string | undefined;
  /** Called once per finished cell (in completion order). */
  onOutcome(o: CellOutcome): void;
  /** How often finished jobs are collected, ms (default 250). */
  pollMs?: number;
  /** How long to wait for Redis to answer at start, ms (default 5000). */
  connectTimeoutMs?: number;
}

function isOutcome(v: unknown, id: string): v is CellOutcome {
  const o = v as Partial<CellOutcome> | null;
  return typeof o === 'object' && o !== null && o.id === id && (o.status === 'ok' || o.status === 'failed');
}

/** Enqueue `tasks` (skipping cells already queued or finished) and collect every outcome. */
export async function runOnQueue(tasks: readonly CellTask[], o: QueueRunOptions): Promise<void> {
  const q = new Queue(o.name ?? DEFAULT_QUEUE_NAME, { connection: connection(o.url) });
  await ready(q, o.url, o.connectTimeoutMs ?? 5000);
  try {
    const pending = new Map(tasks.map((t) => [t.id, t]));
    const fresh: CellTask[] = [];
    const all = [...pending.values()];
    for (let i = 0; i < all.length; i += 200) {
      const batch = all.slice(i, i + 200);
      const states = await Promise.all(batch.map((t) => q.getJobState(t.id)));
      for (let k = 0; k < batch.length; k++) {
        const t = batch[k]!;
        if (states[k] === 'unknown') fresh.push(t);
        else if (states[k] === 'completed' || states[k] === 'failed') {
          // a finished cell is reused; a failed one (or one the queue gave up on) runs again
          const job = await Job.fromId(q, t.id);
          if (job !== undefined && isOutcome(job.returnvalue, t.id) && job.returnvalue.status === 'ok')
            continue;
          await job?.remove();
          fresh.push(t);
        }
      }
    }
    await q.addBulk(
      fresh.map((t) => ({
        name: 'cell',
        data: t,
        opts: { jobId: t.id, removeOnComplete: false, removeOnFail: false },
      })),
    );
    const pollMs = o.pollMs ?? 250;
    while (pending.size > 0) {
      // a cheap state query per pending cell, in batches; the job (and its result) only once finished
      const ids = [...pending.keys()];
      for (let i = 0; i < ids.length; i += 200) {
        const batch = ids.slice(i, i + 200);
        const states = await Promise.all(batch.map((id) => q.getJobState(id)));
        for (let k = 0; k < batch.length; k++) {
          const id = batch[k]!;
          if (states[k] === 'unknown') {
            // removed behind our back (queue cleaned, another sweep rerunning a failed cell): re-add
            await q.add('cell', pending.get(id)!, {
              jobId: id,
              removeOnComplete: false,
              removeOnFail: false,
            });
          } else if (states[k] === 'completed' || states[k] === 'failed') {
            const job = await Job.fromId(q, id);
            if (job === undefined) continue; // removed in between: seen as unknown next round
            pending.delete(id);
            if (isOutcome(job.returnvalue, id)) o.onOutcome(job.returnvalue);
            else
              o.onOutcome({
                id,
                status: 'failed',
                error: `queue: ${job.failedReason || 'no result'}`,
                wallMs: 0,
                files: {},
              });
          }
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await q.close();
  }
}

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  url: string;
  name?: string;
  /** Cells run at once, each on its own thread (default: one per core). */
  jobs?: number;
  /** Lock duration, ms: a dead worker's cell is retried after about this long (default 30 000). */
  lockDurationMs?: number;
  /** Interval of the stalled-job check, ms (default 15 000). */
  stalledIntervalMs?: number;
  /** How many times a cell may be recovered from a dead worker before it fails (default 2). */
  maxStalledCount?: number;
  log?(line: string): void;
}

/** A running queue worker. */
export interface QueueWorker {
  /** Finish the cells in progress, then stop. */
  close(): Promise<void>;
}

function isTask(v: unknown): v is CellTask {
  const t = v as Partial<CellTask> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.id === 'string' &&
    typeof t.baseDir === 'string' &&
    typeof t.scenario === 'object' &&
    Array.isArray(t.testFlows)
  );
}

/** Take cells from the queue and run them on a pool of worker threads until closed. */
export async function startWorker(o: WorkerOptions): Promise<QueueWorker> {
  const jobs = o.jobs ?? defaultJobs();
  const log = o.log ?? (() => {});
  const name = o.name ?? DEFAULT_QUEUE_NAME;
  const probe = new Queue(name, { connection: connection(o.url) });
  await ready(probe, o.url, 5000);
  await probe.close();
  const pool = createPool(jobs);
  const worker = new Worker(
    name,
    async (job: Job) => {
      // the cell runs on a thread, so this event loop stays free to renew the job's lock
      if (!isTask(job.data) || job.data.id !== job.id) throw new Error('not a portus sweep cell');
      log(`started cell ${job.id}`);
      const outcome = await pool.run(job.data);
      log(`finished cell ${job.id} (${outcome.status}, ${(outcome.wallMs / 1000).toFixed(1)} s)`);
      return outcome;
    },
    {
      connection: connection(o.url),
      concurrency: jobs,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 15_000,
      maxStalledCount: o.maxStalledCount ?? 2,
    },
  );
  let lastError = '';
  worker.on('error', (e) => {
    // one line per distinct error (a Redis outage would otherwise log on every retry)
    if (e.message !== lastError) log(`queue error: ${e.message}`);
    lastError = e.message;
  });
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      await pool.close();
    },
  };
}
