/**
 * Unix transport back-pressure (docs/ipc.md, "Back-pressure") with real processes: a destination
 * that never reads is dropped when its backlog overflows, and 300 non-reading local sockets do
 * not stall a legitimate datapath served by the real agent; plus the 1000-flow closed loop of the
 * libccp load generator (`bench/ipc/c/loadgen.c`, built from the real libccp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  silentLogger,
  startAgent,
  type Agent,
  type Algorithm,
  type DatapathHandle,
} from '../../src/agent/index.ts';
import { aimd } from '../../src/algorithms/index.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { openUnix } from '../../src/ipc/index.ts';
import { encodeReady } from '../../src/wire/index.ts';
import { buildCTools } from '../../bench/ipc/c/build.ts';
import { createHex, fixture, runNode, tempDir } from './helpers.ts';

const PEER = fixture('unix-peer.ts');
const HELLO = Buffer.from('hello').toString('hex');
const FLOOD = Buffer.from('flood').toString('hex');

/** Start the silent-peers fixture; resolves once its sockets have sent (it then never reads). */
async function silentPeers(args: object): Promise<{ child: ChildProcess; sockets: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture('silent-peers.ts'), JSON.stringify(args)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`silent-peers exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const r = JSON.parse(line) as { ok: boolean; sockets: number };
  assert.equal(r.ok, true);
  return { child, sockets: r.sockets };
}

const kill = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
};

/** Run the libccp load generator; resolves with its JSON summary. */
function loadgen(agent: string, me: string, flows: number, rounds: number): Promise<Record<string, number>> {
  const { loadgen: bin } = buildCTools();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [agent, me, String(flows), '60', String(rounds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, number>);
      } catch {
        reject(new Error(`loadgen printed no summary: ${out} ${err}`));
      }
    });
  });
}

/** The real agent (aimd) on a unix transport at `path`. */
async function aimdAgent(path: string): Promise<Agent> {
  return startAgent({ transport: await openUnix({ path }), algorithms: [aimd()], log: silentLogger });
}

/** Resolve once `cond()` holds, checking on every event-loop turn (no fixed sleeps). */
async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a destination whose backlog overflows is dropped alone, with one log line; others are served in full', async () => {
  const { dir, cleanup } = tempDir('unix-bp');
  const agentPath = join(dir, 'portus');
  const t = await openUnix({ path: agentPath, maxBacklog: 400 });
  const silent = join(dir, 'silent-0');
  let stuck: ChildProcess | null = null;
  try {
    const errors: PortusError[] = [];
    const gone: string[] = [];
    t.onError!((e) => errors.push(e as PortusError));
    t.onPeerGone!((addr) => gone.push(addr));
    t.onMessage((buf, from) => {
      const n = buf.toString() === 'flood' ? 1000 : 300;
      for (let i = 0; i < n; i++) t.send(Buffer.from([i & 0xff, i >> 8]), from);
    });
    // one socket that asks for 1000 messages and never reads: more than its queue (11) + backlog (400)
    stuck = (await silentPeers({ to: agentPath, dir, n: 1, send: [FLOOD] })).child;
    await until(() => gone.length > 0, 'the stuck destination to be dropped');
    // further sends to it are discarded quietly (the agent treats its flows as gone)
    for (let i = 0; i < 50; i++) t.send(Buffer.from([1]), silent);
    // a reading datapath gets all 300, in order (its queue fills too, but it reads)
    const r = await runNode(PEER, [
      JSON.stringify({ bind: join(dir, 'dp'), to: agentPath, send: [HELLO], expect: 300 }),
    ]);
    assert.equal(r.ok, true, String(r.error));
    const got = (r.replies as { hex: string }[]).map((x) => Buffer.from(x.hex, 'hex').readUInt16LE(0));
    assert.deepEqual(
      got,
      Array.from({ length: 300 }, (_, i) => i),
    );
    assert.deepEqual(gone, [silent]);
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
    assert.equal(errors[0]!.code, ErrorCodes.IPC_SEND);
    assert.match(errors[0]!.message, /dropped datapath .*silent-0: more than 400 messages waiting/);
  } finally {
    if (stuck !== null) await kill(stuck);
    await t.close();
    cleanup();
  }
});

const STALL_BOUND_MS = 2000;

test(`300 non-reading peers do not stall a legitimate datapath (every reply within ${STALL_BOUND_MS} ms)`, async () => {
  const { dir, cleanup } = tempDir('unix-bp');
  const agentPath = join(dir, 'portus');
  const agent = await aimdAgent(agentPath);
  let peers: ChildProcess | null = null;
  try {
    const create = createHex(1);
    // 300 sockets: READY + CREATE each (the agent answers with INSTALL and CHANGE_PROG), then silence
    const s = await silentPeers({
      to: agentPath,
      dir,
      n: 300,
      send: [encodeReady(0).toString('hex'), create],
    });
    peers = s.child;
    await until(() => agent.stats().flows === 300, 'the agent to register the 300 flows');
    const r = await loadgen(agentPath, join(dir, 'legit'), 1, 300);
    assert.equal(r.started, 1);
    assert.equal(r.answered, 300);
    assert.equal(r.unanswered, 0);
    assert.ok(r.maxus! < STALL_BOUND_MS * 1000, `longest wait for a reply: ${r.maxus} µs`);
  } finally {
    if (peers !== null) await kill(peers);
    await agent.close();
    cleanup();
  }
});

test('1000 flows in closed loop from the libccp load generator: every report answered', async () => {
  const { dir, cleanup } = tempDir('unix-bp');
  const agentPath = join(dir, 'portus');
  const agent = await aimdAgent(agentPath);
  try {
    const r = await loadgen(agentPath, join(dir, 'lg'), 1000, 5);
    assert.equal(r.started, 1000);
    assert.equal(r.answered, 5000);
    assert.equal(r.unanswered, 0);
    assert.equal(r.errors, 0);
    assert.equal(agent.stats().reports, 5000);
  } finally {
    await agent.close();
    cleanup();
  }
});

test('the agent closes the flows of a datapath the transport dropped, and keeps serving others', async () => {
  const { dir, cleanup } = tempDir('unix-bp');
  const agentPath = join(dir, 'portus');
  const lines: string[] = [];
  const log = { ...silentLogger, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  // aimd, keeping each flow's handle so that the test can make the agent send to a datapath
  const base = aimd();
  const handles: DatapathHandle[] = [];
  let closed = 0;
  const alg: Algorithm = {
    ...base,
    newFlow(dp, info) {
      handles.push(dp);
      return { ...base.newFlow(dp, info), close: () => void closed++ };
    },
  };
  const agent = startAgent({
    transport: await openUnix({ path: agentPath, maxBacklog: 400 }),
    algorithms: [alg],
    log,
  });
  let stuck: ChildProcess | null = null;
  try {
    const creates = Array.from({ length: 200 }, (_, i) => createHex(i + 1));
    // READY + 200 CREATEs, then never reading: INSTALL + 200 CHANGE_PROGs wait (11 queued, the rest in the backlog)
    stuck = (
      await silentPeers({ to: agentPath, dir, n: 1, send: [encodeReady(0).toString('hex'), ...creates] })
    ).child;
    await until(() => agent.stats().flows === 200, 'the 200 flows');
    assert.equal(lines.length, 0, lines.join('\n'));
    // 400 more messages to it: its backlog overflows
    for (const h of handles) h.updateField('Cwnd', 20000);
    for (const h of handles) h.updateField('Cwnd', 30000); // still live: removal waits for a microtask
    await until(() => agent.stats().flows === 0, 'its flows to be closed');
    assert.equal(agent.stats().datapaths, 0);
    assert.equal(closed, 200, 'every flow got its close hook');
    assert.equal(
      lines.filter((l) => /dropped datapath .*silent-0: more than 400 messages waiting/.test(l)).length,
      1,
      lines.join('\n'),
    );
    assert.equal(lines.filter((l) => /datapath .*silent-0 gone/.test(l)).length, 1, lines.join('\n'));
    // another datapath is served as usual
    const r = await loadgen(agentPath, join(dir, 'legit'), 10, 3);
    assert.equal(r.answered, 30);
    assert.equal(r.unanswered, 0);
  } finally {
    if (stuck !== null) await kill(stuck);
    await agent.close();
    cleanup();
  }
});
