// End to end over real Unix datagram sockets between separate processes:
// `portus run aimd --socket A` against `portus datapath --agent A ...`.
// Assertions are on message and trace content; waits are on output lines with generous timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openUnix } from '../../src/ipc/index.ts';
import { encodeCreate, encodeMeasure } from '../../src/wire/index.ts';
import { cwndTrace, events, exitOf, portus, tempDir, type Proc } from './helpers.ts';

const MSS = 1448;

/** Start the agent and wait until it is serving. */
async function agent(sock: string, alg = 'aimd', extra: string[] = ['--quiet']): Promise<Proc> {
  const p = portus(['run', alg, '--socket', sock, '--debug', ...extra]);
  await p.waitFor(/^portus: running/);
  return p;
}

/** Stop the agent with a signal: it must exit 0 and remove its socket file. */
async function stop(p: Proc, sock: string, sig: NodeJS.Signals = 'SIGINT'): Promise<void> {
  p.kill(sig);
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
  return portus([
    'datapath',
    '--json',
    '--agent',
    agentSock,
    '--socket',
    sock,
    '--mss',
    String(MSS),
    ...args,
  ]);
}

/**
 * Replay AIMD's law over the agent's debug log for one flow: every report (MEASURE fields acked,
 * sacked, loss, ...) must be answered by UPDATE_FIELDS Cwnd = the law's value; the datapath's
 * set_cwnd trace must be those values, in order (a staged value may be superseded before it is
 * applied). Independent of timing.
 */
function checkAimd(ag: Proc, dp: Proc, dpSock: string, sid: number, losses: number): void {
  const from = new RegExp(
    `<- \\S*${dpSock} MEASURE sid=${sid} uid=1 nf=6 fields=\\[(\\d+) (\\d+) (\\d+) \\d+ \\d+ \\d+\\]`,
  );
  const to = new RegExp(`-> \\S*${dpSock} UPDATE_FIELDS sid=${sid} \\[\\(2,4\\)=(\\d+)\\]`);
  let cwnd = 10 * MSS;
  const sent: number[] = [];
  let expected: number | null = null;
  let lossReports = 0;
  for (const line of ag.err) {
    const m = from.exec(line);
    if (m) {
      assert.equal(expected, null, 'every report is answered before the next one');
      const [acked, sacked, loss] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (loss > 0 || sacked > 0) {
        cwnd /= 2;
        lossReports++;
      } else cwnd += MSS * (acked / cwnd);
      cwnd = Math.max(cwnd, 10 * MSS);
      expected = Math.floor(cwnd);
      continue;
    }
    const u = to.exec(line);
    if (u) {
      assert.equal(Number(u[1]), expected, "UPDATE_FIELDS carries the law's window");
      sent.push(expected!);
      expected = null;
    }
  }
  assert.ok(sent.length > 20, `enough reports (${sent.length})`);
  assert.equal(lossReports, losses);
  assert.ok(Math.max(...sent) > 20 * MSS, 'the window grew');
  // the datapath applied a subsequence of the sent windows, in order
  let j = 0;
  for (const c of cwndTrace(events(dp), sid)) {
    while (j < sent.length && sent[j] !== c) j++;
    assert.ok(j < sent.length, `applied window ${c} was sent, in order`);
    j++;
  }
  assert.ok(cwndTrace(events(dp), sid).length > 10);
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
    await ag.waitFor(/flow 1 \(.*dp\.sock\) closed by the datapath/, 'err'); // the log is complete
    checkAimd(ag, dp, 'dp.sock', 1, 2);
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
  const ag = await agent(A, 'aimd', []); // with the status line
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
    }
    for (const n of ['dp-a', 'dp-b']) {
      await ag.waitFor(new RegExp(`datapath .*${n}\\.sock registered`), 'err');
      for (const sid of [1, 2])
        await ag.waitFor(new RegExp(`flow ${sid} \\(.*${n}\\.sock\\) closed by the datapath`), 'err');
    }
    for (const [i, n] of ['dp-a.sock', 'dp-b.sock'].entries()) {
      for (const sid of [1, 2]) checkAimd(ag, dps[i], n, sid, 2);
    }
    // the once-a-second status line
    await ag.waitFor(
      // (a datapath that has left is removed once a send to it finds its socket gone)
      /^portus: 0 flow\(s\) on [0-2] datapath\(s\), \d+ reports\/s \(\d+ total, \d+ dropped, 0 errors\)$/,
    );
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
    await ag.waitFor(/flow 1 \(.*dp\.sock\) closed by the datapath/, 'err');
    checkAimd(ag, dp, 'dp.sock', 1, 2);
    assert.ok(
      events(dp)
        .filter((e) => e.ev === 'recv')
        .every((e) => e.code === 0 || e.code === -71),
    );
    assert.ok(sent >= 50);
    assert.ok(ag.err.some((l) => /ignoring MEASURE from unknown datapath .*garbage\.sock/.test(l)));
    assert.ok(!ag.err.some((l) => /garbage\.sock registered/.test(l)), 'garbage never registered a datapath');
    await stop(ag, A);
    // rate-limited: the first 3 lines in full, the rest counted in one summary line at shutdown
    const shown = ag.err.filter((l) => /WARN .*(malformed|ignoring message).*garbage\.sock/.test(l));
    assert.ok(shown.length <= 6, `garbage logged in few lines:\n${shown.join('\n')}`);
    const summary = shown.map((l) =>
      /\[(\d+) more like this \(malformed:.*garbage\.sock\) suppressed/.exec(l),
    );
    const counted = summary.reduce((n, m) => n + (m ? Number(m[1]) : 1), 0);
    assert.ok(counted >= 30, `every malformed datagram counted (${counted})`);
  } finally {
    await g.close();
    ag.kill('SIGKILL');
    cleanup();
  }
});

test('e2e unix: SIGTERM with live flows closes them (close hooks), the socket and its file', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const D = join(dir, 'dp.sock');
  const ag = await agent(A);
  const dp = datapath(A, D, ['--flows', '2', '--rate', '200', '--duration', '60']);
  try {
    await dp.waitFor(/"ev":"set_cwnd","sid":2/);
    await stop(ag, A, 'SIGTERM');
    for (const sid of [1, 2]) {
      assert.ok(
        ag.err.some((l) =>
          new RegExp(`flow ${sid} \\(.*dp\\.sock\\) closed by the agent shutting down`).test(l),
        ),
      );
    }
  } finally {
    dp.kill('SIGKILL');
    ag.kill('SIGKILL');
    await exitOf(dp);
    cleanup();
  }
});
