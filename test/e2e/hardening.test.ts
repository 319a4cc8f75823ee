// Issue 12 end to end, real processes over real unix sockets: nothing lost at exit (1000 closes),
// agent restart with `portus datapath --reconnect`, clean shutdown on SIGINT/SIGTERM/SIGHUP for the
// agent and the datapath. Waits on output lines and events, never on sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, silentLogger, type Algorithm } from '../../src/agent/index.ts';
import { openUnix } from '../../src/ipc/index.ts';
import { datapathLogLevel } from '../../src/cli/datapath.ts';
import { events, exitOf, portus, tempDir, type DpEvent, type Proc } from './helpers.ts';

const P = `(def (Report (volatile acked 0)))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))`;

/** An in-process agent on a real socket, counting close hooks; `until(n)` resolves at n closes. */
async function countingAgent(path: string) {
  let closes = 0;
  let waiting: { n: number; resolve: () => void } | null = null;
  const alg: Algorithm = {
    name: 'count',
    datapathPrograms: () => ({ p: P }),
    newFlow(dp) {
      dp.setProgram('p', { Cwnd: 20000 });
      return {
        onReport() {},
        close() {
          closes++;
          if (waiting !== null && closes >= waiting.n) waiting.resolve();
        },
      };
    },
  };
  const agent = startAgent({ transport: await openUnix({ path }), algorithms: [alg], log: silentLogger });
  return {
    agent,
    closes: () => closes,
    until(n: number, ms = 30_000): Promise<void> {
      if (closes >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${closes} of ${n} closes within ${ms} ms`)), ms);
        waiting = {
          n,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        };
      });
    },
  };
}

/** Resolve when `cond()` holds, re-checked at each output line of `p`. */
function whenTrue(p: Proc, cond: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      clearTimeout(t);
      p.child.stdout!.off('data', check);
      resolve();
    };
    const t = setTimeout(() => {
      p.child.stdout!.off('data', check);
      reject(new Error(`condition not met within ${ms} ms`));
    }, ms);
    p.child.stdout!.on('data', () => setImmediate(check));
    check();
  });
}

function summaryOf(p: Proc): DpEvent {
  const s = events(p).at(-1);
  assert.equal(s?.ev, 'summary', p.err.join('\n'));
  return s!;
}

test('nothing lost at exit: a datapath with 1000 flows exits and the agent sees exactly 1000 closes', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const ag = await countingAgent(A);
  try {
    const dp = portus(
      ['datapath', '--json', '--agent', A, '--socket', join(dir, 'dp.sock')].concat([
        '--flows',
        '1000',
        '--rate',
        '0',
        '--duration',
        '0.5',
      ]),
    );
    assert.equal(await exitOf(dp), 0, dp.err.join('\n'));
    const s = summaryOf(dp);
    assert.equal(s.flows, 1000);
    assert.equal(s.undelivered, 0);
    assert.equal(s.send_failures, 0);
    await ag.until(1000);
    assert.equal(ag.closes(), 1000);
    assert.equal(ag.agent.stats().flows, 0);
    assert.deepEqual(dp.err, [], 'no warnings in a normal run');
  } finally {
    await ag.agent.close();
    cleanup();
  }
});

test('a datapath stops cleanly on SIGINT, SIGTERM and SIGHUP: its flows close at the agent, its socket is removed', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const ag = await countingAgent(A);
  try {
    let expected = 0;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const D = join(dir, `dp-${sig}.sock`);
      const dp = portus([
        'datapath',
        '--json',
        '--agent',
        A,
        '--socket',
        D,
        '--flows',
        '3',
        '--duration',
        '600',
      ]);
      await dp.waitFor(/"ev":"recv","type":"change_prog","len":\d+,"code":0,"sid":3/);
      dp.kill(sig);
      assert.equal(await exitOf(dp), 0, dp.err.join('\n'));
      expected += 3;
      await ag.until(expected);
      assert.equal(summaryOf(dp).signal, sig);
      assert.equal(summaryOf(dp).undelivered, 0);
      assert.ok(!existsSync(D), `${sig}: socket file removed`);
    }
    assert.equal(ag.closes(), 9);
  } finally {
    await ag.agent.close();
    cleanup();
  }
});

test('agent restart: kill -9 the agent, start another, and with --reconnect every flow is controlled again; SIGHUP stops the agent cleanly', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const D = join(dir, 'dp.sock');
  const agent = (): Proc => portus(['run', 'reno', '--socket', A, '--quiet']);
  const a1 = agent();
  let a2: Proc | null = null;
  let dp: Proc | null = null;
  try {
    await a1.waitFor(/^portus: running/);
    dp = portus(
      ['datapath', '--json', '--reconnect', '--agent', A, '--socket', D, '--flows', '4'].concat([
        '--rate',
        '200',
        '--duration',
        '600',
        '--alg',
        'reno',
      ]),
    );
    const controlledAfter = async (p: Proc, from: number): Promise<void> => {
      for (let sid = 1; sid <= 4; sid++) {
        await p.waitFor(new RegExp(`"ev":"recv","type":"change_prog","len":\\d+,"code":0,"sid":${sid}\\b`));
      }
      const evs = events(p).slice(from);
      for (let sid = 1; sid <= 4; sid++) {
        assert.ok(
          evs.some((e) => e.type === 'change_prog' && e.sid === sid && e.code === 0),
          `flow ${sid}`,
        );
      }
    };
    await controlledAfter(dp, 0);
    a1.kill('SIGKILL');
    await exitOf(a1);
    assert.ok(existsSync(A), 'kill -9 leaves the socket file behind');
    const before = events(dp).length;
    a2 = agent();
    await a2.waitFor(/^portus: running/);
    const t0 = Date.now();
    const reconnect = await dp.waitFor(/"ev":"reconnect"/, 'out', 20_000);
    const at = events(dp).findIndex((e, i) => i >= before && e.ev === 'reconnect');
    assert.ok(at >= 0, reconnect);
    // every flow gets a CHANGE_PROG from the new agent, within the bound (generous: CI under load)
    const controlled = (): boolean => {
      const evs = events(dp!).slice(at);
      return [1, 2, 3, 4].every((sid) =>
        evs.some((e) => e.type === 'change_prog' && e.sid === sid && e.code === 0),
      );
    };
    await whenTrue(dp, controlled, 20_000);
    console.log(`# flows controlled again ${Date.now() - t0} ms after the new agent started`);
    // and the new agent drives them: windows change after the reconnect
    const cw = await dp.waitFor(/"ev":"set_cwnd"/);
    assert.ok(cw);
    // SIGHUP: the agent closes its 4 live flows and removes its socket
    a2.kill('SIGHUP');
    assert.equal(await exitOf(a2), 0);
    assert.ok(
      a2.out.some((l) => /closed 4 live flows/.test(l)),
      a2.out.join('\n'),
    );
    assert.ok(!existsSync(A), 'socket file removed');
    dp.kill('SIGTERM');
    assert.equal(await exitOf(dp), 0, dp.err.join('\n'));
    const s = summaryOf(dp);
    assert.ok((s.reconnects as number) >= 1);
    assert.ok(!existsSync(D));
  } finally {
    a1.kill('SIGKILL');
    a2?.kill('SIGKILL');
    dp?.kill('SIGKILL');
    cleanup();
  }
});

test('portus datapath prints human-readable lines by default, no warnings in a normal run; the log level comes from --log-level or PORTUS_LOG', async () => {
  const { dir, cleanup } = tempDir();
  const A = join(dir, 'agent.sock');
  const ag = await countingAgent(A);
  try {
    const dp = portus(
      ['datapath', '--agent', A, '--socket', join(dir, 'dp.sock'), '--flows', '3'].concat([
        '--rate',
        '100',
        '--duration',
        '0.5',
      ]),
    );
    assert.equal(await exitOf(dp), 0, dp.err.join('\n'));
    assert.ok(dp.out.length >= 4 && dp.out.length < 10, dp.out.join('\n'));
    assert.ok(
      dp.out.every((l) => l.startsWith('portus datapath: ')),
      dp.out.join('\n'),
    );
    assert.match(dp.out[0]!, /^portus datapath: READY sent to the agent at .*agent\.sock/);
    assert.ok(dp.out.some((l) => /all 3 flows are under the agent's control/.test(l)));
    assert.match(dp.out.at(-1)!, /done after .* 3 flows, 150 ACKs, .* 0 send failures, 0 undelivered/);
    assert.deepEqual(dp.err, [], 'no warnings');
    await ag.until(3);
  } finally {
    await ag.agent.close();
    cleanup();
  }
  assert.equal(datapathLogLevel(undefined, undefined), 'warn');
  assert.equal(datapathLogLevel(undefined, 'debug'), 'debug');
  assert.equal(datapathLogLevel('error', 'debug'), 'error');
  assert.equal(datapathLogLevel(undefined, 'silent'), 'none');
  assert.throws(() => datapathLogLevel(undefined, 'loud'), /PORTUS_LOG must be one of/);
});
