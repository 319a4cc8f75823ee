/**
 * `portus worker --queue redis://HOST:PORT`: take sweep cells from the queue and run them on worker
 * threads until SIGINT/SIGTERM. Start any number, on any machines that reach the Redis server.
 * @module
 */
import type { Command } from 'commander';
import { ErrorCodes, PortusError } from '../errors.ts';
import { parseTime } from '../sim/index.ts';
import { defaultJobs, startWorker } from '../sweep/index.ts';
import { positiveInt } from './sweep.ts';

interface WorkerCliOptions {
  queue: string;
  queueName: string;
  jobs?: string;
  lockDuration: string;
  stalledInterval: string;
}

function ms(flag: string, v: string): number {
  let us: number;
  try {
    us = parseTime(v);
  } catch {
    throw new PortusError(ErrorCodes.USAGE, `${flag} expects a time such as 30s or 500ms, got '${v}'`);
  }
  if (!(us >= 1000)) throw new PortusError(ErrorCodes.USAGE, `${flag} must be at least 1ms, got '${v}'`);
  return Math.round(us / 1000);
}

async function action(o: WorkerCliOptions): Promise<void> {
  const jobs = o.jobs === undefined ? defaultJobs() : positiveInt('--jobs', o.jobs);
  const lockDurationMs = ms('--lock-duration', o.lockDuration);
  const stalledIntervalMs = ms('--stalled-interval', o.stalledInterval);
  const log = (line: string): void => console.log(`portus worker ${process.pid}: ${line}`);
  const w = await startWorker({
    url: o.queue,
    name: o.queueName,
    jobs,
    lockDurationMs,
    stalledIntervalMs,
    log,
  });
  log(`taking cells from queue ${o.queueName} at ${o.queue} on ${jobs} thread${jobs === 1 ? '' : 's'}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      log('stopping after the cells in progress');
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await w.close();
}

/** Register `portus worker`. */
export function register(program: Command): void {
  program
    .command('worker')
    .description('run sweep cells from a Redis queue (see `portus sweep --queue`) until interrupted')
    .requiredOption('--queue <url>', 'Redis server holding the queue, redis://host:port')
    .option('--queue-name <name>', 'queue name', 'portus-sweep')
    .option('--jobs <n>', 'cells at once, one thread each (default: one per core)')
    .option('--lock-duration <time>', "a dead worker's cell is retried after about this long", '30s')
    .option('--stalled-interval <time>', 'how often to look for cells of dead workers', '15s')
    .action(action);
}
