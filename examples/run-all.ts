// Runs every example for real (CI: `npm run examples`):
//  1. each example algorithm against the TypeScript datapath with the testing kit, checking its
//     control law;
//  2. each example algorithm through the CLI, `portus run ./examples/<file>.ts`, as its own process
//     over a real Unix socket, driven by the TypeScript datapath;
//  3. every datapath program in examples/programs/ compiles;
//  4. every sweep spec in examples/sweeps/ expands, and the small one runs (`portus sweep`).
// Exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compile } from 'portus';
import { createTestbed } from 'portus/testing';
import { createDatapath } from '../src/datapath/index.ts';
import { openUnix } from '../src/ipc/index.ts';
import { expandSpec, loadSpec } from '../src/sweep/index.ts';
import { decode, MsgType } from '../src/wire/index.ts';
import ClassicAimd from './classic-aimd.ts';
import vegas from './portus-vegas.ts';

const here = new URL('.', import.meta.url).pathname;
const root = join(here, '..');
const MSS = 1448;
let failures = 0;

async function check(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${(e as Error).stack ?? e}`);
  }
}

// ---- 1. control laws with the testing kit --------------------------------------------------
await check('classic-aimd.ts: +1 MSS per RTT, halves on loss (testing kit)', async () => {
  const tb = await createTestbed({ algorithm: ClassicAimd, mss: MSS });
  const f = await tb.startFlow({ congAlg: 'classic-aimd' });
  await f.rtts(10);
  const grown = f.cwnd;
  assert.ok(grown > 15 * MSS && grown < 22 * MSS, `about +1 MSS per RTT: ${grown / MSS} packets`);
  await f.loss();
  await f.ack();
  assert.ok(Math.abs(f.cwnd - grown / 2) < 2 * MSS, `halved: ${f.cwnd / MSS} packets`);
  assert.equal(tb.agent.stats().errors, 0);
  await tb.close();
});

await check(
  'portus-vegas.ts: grows while the queue is short, backs off when RTT rises (testing kit)',
  async () => {
    const tb = await createTestbed({ algorithm: vegas, mss: MSS, rttUs: 20_000 });
    const f = await tb.startFlow();
    await f.rtts(8);
    const grown = f.cwnd;
    assert.ok(grown >= 15 * MSS, `grew to ${grown / MSS} packets at the base RTT`);
    await f.rtts(6, { rttSampleUs: 40_000 }); // RTT doubled: half the window is queued
    assert.ok(f.cwnd < grown, `backed off to ${f.cwnd / MSS} packets`);
    assert.equal(tb.agent.stats().errors, 0);
    await tb.close();
  },
);

// ---- 2. through the CLI over a real Unix socket ---------------------------------------------
function waitLine(stream: NodeJS.ReadableStream, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: stream });
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms`)), ms);
    rl.on('line', (l) => {
      if (re.test(l)) {
        clearTimeout(timer);
        rl.close();
        resolve(l);
      }
    });
  });
}

async function viaCli(file: string): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'portus-ex-'));
  const agentPath = join(dir, 'agent.sock');
  const child = spawn(process.execPath, ['bin/portus.js', 'run', file, '--socket', agentPath, '--quiet'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await waitLine(child.stdout!, /^portus: running/, 30_000);
    const t = await openUnix({ path: join(dir, 'dp.sock') });
    let now = 0;
    const cwnds: number[] = [];
    const got: number[] = [];
    let reportsSent = 0;
    let wake: (() => void) | null = null;
    const dp = createDatapath({
      now: () => now,
      send: (m) => {
        if (m.readUInt16LE(0) === MsgType.MEASURE && m.length > 16) reportsSent++;
        t.send(m, agentPath);
        return 0;
      },
      setCwnd: (c, b) => {
        c.prims.sndCwnd = b;
        if (cwnds.at(-1) !== b) cwnds.push(b);
      },
      setRate: () => {},
    });
    t.onMessage((buf) => {
      got.push(decode(buf).type);
      dp.receive(buf);
      wake?.();
    });
    const until = (pred: () => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('agent did not answer within 10 s')), 10_000);
        const test = () => {
          if (pred()) {
            clearTimeout(timer);
            wake = null;
            resolve();
          }
        };
        wake = test;
        test();
      });
    dp.init();
    const conn = dp.startConnection({
      initCwnd: 10 * MSS,
      mss: MSS,
      srcIp: 0,
      srcPort: 1,
      dstIp: 0,
      dstPort: 2,
      congAlg: '',
    })!;
    await until(() => got.includes(MsgType.CHANGE_PROG));
    for (let i = 0; i < 400; i++) {
      now += 1000;
      const p = conn.prims;
      const cw = p.sndCwnd || 10 * MSS;
      Object.assign(p, { bytesAcked: MSS, packetsAcked: 1, rttSampleUs: 10_000, sndCwnd: cw });
      Object.assign(p, { packetsInFlight: Math.floor(cw / MSS), bytesInFlight: cw });
      const reports = reportsSent;
      const updates = got.filter((x) => x === MsgType.UPDATE_FIELDS).length;
      dp.invoke(conn);
      // both examples answer every report with an UPDATE_FIELDS: wait for it
      if (reportsSent > reports) {
        await until(() => got.filter((x) => x === MsgType.UPDATE_FIELDS).length > updates);
      }
    }
    dp.freeConnection(conn.sid);
    await t.close();
    return cwnds;
  } finally {
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 0, 'portus run exits 0 on SIGINT');
    assert.ok(!existsSync(agentPath), 'socket file removed on shutdown');
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const file of ['./examples/classic-aimd.ts', './examples/portus-vegas.ts']) {
  await check(`portus run ${file} over a real Unix socket`, async () => {
    const cwnds = await viaCli(file);
    assert.ok(cwnds.length >= 10, `window updated ${cwnds.length} times`);
    assert.equal(cwnds[0], 10 * MSS);
    assert.ok(cwnds.at(-1)! > cwnds[0], `window grew: ${cwnds.map((c) => c / MSS).join(' ')}`);
  });
}

// ---- 3. example datapath programs compile -------------------------------------------------
await check('examples/programs/*.ccp compile', async () => {
  const dir = join(here, 'programs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ccp'));
  assert.ok(files.length > 0);
  for (const f of files) compile(readFileSync(join(dir, f), 'utf8'));
});

// ---- 4. sweeps: every spec expands; the small one runs (the Pantheon-like one is too long) ------
await check('examples/sweeps/*.yaml expand into cells', async () => {
  const dir = join(here, 'sweeps');
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 2);
  for (const f of files) assert.ok(expandSpec(loadSpec(join(dir, f))).length > 0, f);
});

await check('portus sweep examples/sweeps/small.yaml: every cell runs, leaderboard written', async () => {
  const out = mkdtempSync(join(tmpdir(), 'portus-ex-sweep-'));
  try {
    const child = spawn(
      process.execPath,
      ['bin/portus.js', 'sweep', 'examples/sweeps/small.yaml', '--out', out, '--no-progress'],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0, 'portus sweep exits 0 when every cell ran');
    const rows = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').slice(1);
    assert.equal(rows.length, 32);
    assert.ok(
      rows.every((r) => r.includes(',ok,')),
      'every cell ok',
    );
    assert.ok(existsSync(join(out, 'index.html')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

if (failures > 0) {
  console.log(`${failures} example check(s) failed`);
  process.exit(1);
}
console.log('all examples ok');
