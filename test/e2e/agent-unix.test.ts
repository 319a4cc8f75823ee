// End to end over real Unix datagram sockets between separate processes:
// `portus run aimd --socket A` against `portus datapath --agent A ...`.
// Assertions are on message and trace content; waits are on output lines with generous timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openUnix } from '../../src/ipc/index.ts';
import { encodeCreate, encodeMeasure } from '../../src/wire/index.ts';
import { cwndTrace, events, exitOf, portus, tempDir, type DpEvent, type Proc } from './helpers.ts';

const MSS = 1448;

/** Start the agent and wait until it is serving. */
async function agent(sock: string, alg = 'aimd', extra: string[] = []): Promise<Proc> {
  const p = portus(['run', alg, '--socket', sock, '--debug', '--quiet', ...extra]);
  await p.waitFor(/^portus: running/);
  return p;
}

/** Stop the agent with SIGINT: it must exit 0 and remove its socket file. */
async function stop(p: Proc, sock: string): Promise<void> {
  p.kill('SIGINT');
  assert.equal(await exitOf(p), 0);
  assert.ok(p.out.some((l) => /^portus: stopped after \d+ reports/.test(l)));
  assert.ok(!existsSync(sock), 'socket file removed');
  assert.deepEqual(
    p.err.filter((l) => / ERROR /.test(l)),
    [],
    'no errors logged by the agent',
  );
}

function datapath(agentSock: string, sock: string, args: string[]): Proc {
  return portus(['datapath', '--agent', agentSock, '--socket', sock, '--mss', String(MSS), ...args]);
}

/**
 * AIMD's window as the datapath applied it: every change is either an additive step (less than
 * ~1.5 MSS up) or a halving (floored at 10 MSS) right after a loss.
 */
function checkAimd(evs: DpEvent[], sid: number, losses: number): void {
  const trace = [10 * MSS, ...cwndTrace(evs, sid)];
  assert.ok(trace.length > 20, `enough window updates (${trace.length})`);
  let halvings = 0;
  for (let i = 1; i < trace.length; i++) {
    const [a, b] = [trace[i - 1], trace[i]];
    if (b > a) assert.ok(b - a <= 1.5 * MSS, `additive step ${a} -> ${b}`);
    else {
      const expect = Math.max(Math.floor(a / 2), 10 * MSS);
      assert.ok(Math.abs(b - expect) <= MSS, `halving ${a} -> ${b} (expected ~${expect})`);
      halvings++;
    }
  }
  assert.equal(halvings, losses, 'one halving per loss');
  assert.ok(Math.max(...trace) > 20 * MSS, 'the window grew');
}

test('e2e unix: aimd cwnd trace, INSTALL/CHANGE_PROG accepted, flow close, clean shutdown', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const D = join(dir, 'dp.sock');
  const ag = await agent(A);
  try {
    const dp = datapath(A, D, ['--flows', '1', '--rate', '500', '--duration', '1', '--loss-every', '200']);
    assert.equal(await exitOf(dp), 0);
    const evs = events(dp);
    const recv = evs.filter((e) => e.ev === 'recv');
    assert.deepEqual(
      recv.slice(0, 2).map((e) => [e.type, e.code, e.uid]),
      [
        ['install', 0, 1],
        ['change_prog', 0, 1],
      ],
    );
    assert.ok(
      recv.every((e) => e.code === 0 || (e.type === 'update_fields' && e.code === -71)),
      'libccp accepted every message (bar updates racing the close)',
    );
    const summary = evs.find((e) => e.ev === 'summary')!;
    assert.equal(summary.acks, 500);
    checkAimd(evs, 1, 2);
    await ag.waitFor(/flow 1 \(.*dp\.sock\) closed by the datapath/, 'err');
    await stop(ag, A);
  } finally {
    ag.kill('SIGKILL');
    cleanup();
  }
});

test('e2e unix: a datapath restart (READY from the same address) forgets its flows and re-installs', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const D = join(dir, 'dp.sock');
  const ag = await agent(A);
  try {
    const dp1 = datapath(A, D, ['--flows', '2', '--rate', '500', '--duration', '60']);
    await dp1.waitFor(/"ev":"set_cwnd"/);
    dp1.kill('SIGKILL'); // crash: its flows never close
    await exitOf(dp1);
    const dp2 = datapath(A, D, ['--flows', '1', '--rate', '500', '--duration', '0.5']);
    assert.equal(await exitOf(dp2), 0);
    await ag.waitFor(/datapath .*dp\.sock restarted \(READY id=0\); forgot its flows/, 'err');
    const evs = events(dp2);
    assert.deepEqual(
      evs
        .filter((e) => e.ev === 'recv')
        .slice(0, 2)
        .map((e) => [e.type, e.code, e.uid]),
      [
        ['install', 0, 1],
        ['change_prog', 0, 1],
      ],
      're-installed, then the new flow switched',
    );
    assert.ok(cwndTrace(evs, 1).length > 5, 'the new flow is controlled');
    await ag.waitFor(/flow 1 \(.*dp\.sock\) closed by the datapath/, 'err');
    await stop(ag, A);
  } finally {
    ag.kill('SIGKILL');
    cleanup();
  }
});

test('e2e unix: two datapaths at once, each controlled through its own address', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const ag = await agent(A);
  try {
    const dps = ['dp-a.sock', 'dp-b.sock'].map((n) =>
      datapath(A, join(dir, n), ['--flows', '2', '--rate', '500', '--duration', '1', '--loss-every', '200']),
    );
    assert.deepEqual(await Promise.all(dps.map((d) => exitOf(d))), [0, 0]);
    for (const dp of dps) {
      const evs = events(dp);
      const recv = evs.filter((e) => e.ev === 'recv');
      assert.equal(recv.filter((e) => e.type === 'install').length, 1);
      assert.equal(recv.filter((e) => e.type === 'change_prog').length, 2);
      for (const sid of [1, 2]) checkAimd(evs, sid, 2);
    }
    for (const n of ['dp-a', 'dp-b']) {
      await ag.waitFor(new RegExp(`datapath .*${n}\\.sock registered`), 'err');
      for (const sid of [1, 2])
        await ag.waitFor(new RegExp(`flow ${sid} \\(.*${n}\\.sock\\) closed by the datapath`), 'err');
    }
    await stop(ag, A);
  } finally {
    ag.kill('SIGKILL');
    cleanup();
  }
});

test('e2e unix: garbage datagrams injected on the agent socket change nothing', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const D = join(dir, 'dp.sock');
  const ag = await agent(A);
  const g = await openUnix({ path: join(dir, 'garbage.sock') });
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const garbage = (): Buffer[] => {
    const list: Buffer[] = [];
    for (let i = 0; i < 20; i++)
      list.push(
        Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 120) }, () => Math.floor(rnd() * 256))),
      );
    const tooLong = encodeMeasure(1, 1, [1, 2, 3]);
    tooLong.writeUInt16LE(500, 2);
    const badType = encodeMeasure(1, 1, [1]);
    badType.writeUInt16LE(0x0909, 0);
    const badCreate = encodeCreate({
      sid: 1,
      initCwnd: 1,
      mss: 1,
      srcIp: 0,
      srcPort: 0,
      dstIp: 0,
      dstPort: 0,
      congAlg: '',
    });
    list.push(
      Buffer.from([1, 0]),
      tooLong,
      badType,
      badCreate.subarray(0, 40),
      encodeMeasure(1, 1, [5, 0, 0, 0, 1, 1]),
    );
    return list;
  };
  try {
    let sent = 0;
    for (const b of garbage()) {
      g.send(b, A);
      sent++;
    }
    const dp = datapath(A, D, ['--flows', '1', '--rate', '500', '--duration', '1', '--loss-every', '200']);
    await dp.waitFor(/"ev":"set_cwnd"/);
    for (const b of garbage()) {
      g.send(b, A);
      sent++;
    }
    assert.equal(await exitOf(dp), 0);
    checkAimd(events(dp), 1, 2);
    assert.ok(
      events(dp)
        .filter((e) => e.ev === 'recv')
        .every((e) => e.code === 0 || e.code === -71),
    );
    await ag.waitFor(/flow 1 \(.*dp\.sock\) closed by the datapath/, 'err');
    assert.ok(sent >= 50);
    assert.ok(
      ag.err.filter((l) => /WARN .*(malformed|ignoring message)/.test(l)).length >= 30,
      'garbage logged',
    );
    assert.ok(ag.err.some((l) => /ignoring MEASURE from unknown datapath .*garbage\.sock/.test(l)));
    assert.ok(!ag.err.some((l) => /garbage\.sock registered/.test(l)), 'garbage never registered a datapath');
    await stop(ag, A);
  } finally {
    await g.close();
    ag.kill('SIGKILL');
    cleanup();
  }
});
