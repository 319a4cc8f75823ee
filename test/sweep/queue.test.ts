// Distributed sweeps through a real redis-server (Debian package) on loopback: two `portus worker`
// processes give the same results.csv as a local run; reruns are idempotent; a worker killed in the
// middle of a cell has that cell retried by another.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Job, Queue } from 'bullmq';
import { isPortusError, ErrorCodes } from '../../src/errors.ts';
import { loadSpec, parseRedisUrl, runSweep } from '../../src/sweep/index.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portus.js');
let dir = '';
let redis: ChildProcess | null = null;
let url = '';
// A real redis-server (Debian `redis-server`). CI installs it, so there a missing server fails the
// suite; elsewhere the two tests that need it are skipped with the reason.
const haveRedis = spawnSync('redis-server', ['--version']).error === undefined;
const noRedis =
  !haveRedis && process.env.CI !== 'true' ? 'no redis-server on PATH (apt-get install redis-server)' : false;
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolve with the first line of `child`'s stdout matching `re`; all lines are kept in `lines`. */
function watch(child: ChildProcess): { lines: string[]; wait(re: RegExp, ms?: number): Promise<string> } {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) {
      if (w.re.test(l)) w.resolve(l);
      else waiters.push(w);
    }
  });
  return {
    lines,
    wait(re, ms = 60_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${re} in ${ms} ms:\n${lines.join('\n')}`)),
          ms,
        );
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

function worker(queueName: string): { child: ChildProcess; out: ReturnType<typeof watch> } {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'worker',
      '--queue',
      url,
      '--queue-name',
      queueName,
      '--jobs',
      '1',
      '--lock-duration',
      '2s',
      '--stalled-interval',
      '500ms',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  return { child, out: watch(child) };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portus-sweep-queue-'));
  if (noRedis === false) {
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await watch(redis).wait(/Ready to accept connections/, 20_000);
    url = `redis://127.0.0.1:${port}`;
  }
  // 5 RTTs × 2 algorithms × 2 seeds = 20 cells
  writeFileSync(
    join(dir, 'twenty.yaml'),
    `fixed: { duration: 1s, link: 12mbps, loss: 0.1% }
axes:
  rtt: [10ms, 20ms, 40ms, 60ms, 80ms]
algorithms: [cubic, reno]
seeds: 2
`,
  );
  // cells long enough to be killed in the middle of (several seconds each on a busy machine)
  writeFileSync(
    join(dir, 'long.yaml'),
    `fixed: { duration: 10s, link: 48mbps, rtt: 20ms }
algorithms: [cubic]
seeds: 3
`,
  );
});

after(async () => {
  for (const c of children) await stop(c, 'SIGKILL');
  if (redis) await stop(redis);
  rmSync(dir, { recursive: true, force: true });
});

test('redis URLs: host, port, credentials and database; anything else is a usage error', () => {
  assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380'), { host: '10.0.0.5', port: 6380 });
  assert.deepEqual(parseRedisUrl('redis://u:p%40ss@example.org/2'), {
    host: 'example.org',
    port: 6379,
    username: 'u',
    password: 'p@ss',
    db: 2,
  });
  for (const bad of ['localhost:6379', 'http://x:1', 'redis://x/notadb']) {
    assert.throws(
      () => parseRedisUrl(bad),
      (e: unknown) => isPortusError(e) && e.code === ErrorCodes.USAGE,
    );
  }
});

test('an unreachable queue is a clear SWEEP_QUEUE error, not a hang', async () => {
  const port = await freePort(); // nothing listens there
  const spec = loadSpec(join(dir, 'twenty.yaml'));
  await assert.rejects(
    runSweep(spec, { out: join(dir, 'unreachable'), queue: `redis://127.0.0.1:${port}` }),
    (e: unknown) =>
      isPortusError(e) && e.code === ErrorCodes.SWEEP_QUEUE && /cannot reach the queue/.test(e.message),
  );
});

test(
  '20 cells on two worker processes: the same results.csv as a local run; a rerun runs nothing',
  { skip: noRedis },
  async () => {
    const spec = loadSpec(join(dir, 'twenty.yaml'));
    const local = await runSweep(spec, { out: join(dir, 'local'), jobs: 2 });
    assert.equal(local.failed, 0);
    const w1 = worker('twenty');
    const w2 = worker('twenty');
    await Promise.all([w1.out.wait(/taking cells/), w2.out.wait(/taking cells/)]);
    const q = await runSweep(spec, { out: join(dir, 'queue'), queue: url, queueName: 'twenty' });
    assert.deepEqual([q.cells, q.ran, q.failed], [20, 20, 0]);
    assert.equal(readFileSync(q.resultsCsv, 'utf8'), readFileSync(local.resultsCsv, 'utf8'));
    const done = (w: typeof w1): number => w.out.lines.filter((l) => /finished cell/.test(l)).length;
    assert.equal(done(w1) + done(w2), 20);
    assert.ok(done(w1) > 0 && done(w2) > 0, `both workers ran cells (${done(w1)} + ${done(w2)})`);
    // the leaderboard's reports came back through the queue
    const firstId = readFileSync(q.resultsCsv, 'utf8').split('\n')[1]!.split(',')[1]!;
    assert.match(readFileSync(join(dir, 'queue', 'cells', firstId, 'report.html'), 'utf8'), /<svg/);

    // idempotent: enqueueing the same cells again (the CLI, a fresh output folder) reuses the results
    const cli = spawnSync(
      process.execPath,
      [
        BIN,
        'sweep',
        join(dir, 'twenty.yaml'),
        '--queue',
        url,
        '--queue-name',
        'twenty',
        '--out',
        join(dir, 'queue2'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /20 cells, 0 already finished in .*, 20 to run on queue twenty at redis:/);
    assert.equal(
      readFileSync(join(dir, 'queue2', 'results.csv'), 'utf8'),
      readFileSync(local.resultsCsv, 'utf8'),
    );
    assert.equal(done(w1) + done(w2), 20, 'no cell ran twice');

    // a job that is not a cell fails with a reason; the workers carry on
    const q2 = new Queue('twenty', { connection: { ...parseRedisUrl(url), maxRetriesPerRequest: null } });
    try {
      await q2.add('cell', { hello: 'world' }, { jobId: 'bogus' });
      const t0 = Date.now();
      while ((await q2.getJobState('bogus')) !== 'failed') {
        assert.ok(Date.now() - t0 < 30_000, 'the bogus job failed within 30 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await Job.fromId(q2, 'bogus'))!.failedReason, 'not a portus sweep cell');
    } finally {
      await q2.close();
    }
    assert.equal(w1.child.exitCode, null);
    assert.equal(w2.child.exitCode, null);
    await Promise.all([stop(w1.child), stop(w2.child)]);
    assert.equal(w1.child.exitCode, 0, 'SIGTERM: clean exit');
  },
);

test(
  'a worker killed in the middle of a cell: another worker runs that cell, results as local',
  { skip: noRedis },
  async () => {
    const spec = loadSpec(join(dir, 'long.yaml'));
    const local = await runSweep(spec, { out: join(dir, 'long-local'), jobs: 2 });
    const doomed = worker('long');
    await doomed.out.wait(/taking cells/);
    const sweep = runSweep(spec, { out: join(dir, 'long-queue'), queue: url, queueName: 'long' });
    const started = await doomed.out.wait(/started cell/);
    const id = /started cell ([0-9a-f]{16})/.exec(started)![1]!;
    await stop(doomed.child, 'SIGKILL');
    assert.ok(!doomed.out.lines.some((l) => l.includes(`finished cell ${id}`)), 'killed before it finished');
    const rescuer = worker('long');
    const r = await sweep;
    assert.deepEqual([r.cells, r.failed], [3, 0]);
    assert.equal(readFileSync(r.resultsCsv, 'utf8'), readFileSync(local.resultsCsv, 'utf8'));
    assert.ok(
      rescuer.out.lines.some((l) => l.includes(`finished cell ${id}`)),
      'the other worker ran it',
    );
    const q = new Queue('long', { connection: { ...parseRedisUrl(url), maxRetriesPerRequest: null } });
    try {
      const job = await Job.fromId(q, id);
      assert.ok(
        job !== undefined && job.stalledCounter >= 1,
        `recovered from a stall (${job?.stalledCounter})`,
      );
    } finally {
      await q.close();
    }
    await stop(rescuer.child);
  },
);
