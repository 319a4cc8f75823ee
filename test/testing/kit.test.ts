// The `portus/testing` kit itself: flows, traces, datapath restart, several algorithms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAlgorithm } from '../../src/algorithms/index.ts';
import type { Algorithm } from '../../src/agent/index.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { MsgType } from '../../src/wire/index.ts';

test('testbed: READY and INSTALL at start, CREATE/CHANGE_PROG per flow, traces both ways', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('aimd'), mss: 1000, rttUs: 20_000 });
  assert.deepEqual(
    tb.messages.map((m) => [m.dir, m.msg.type]),
    [
      ['up', MsgType.READY],
      ['down', MsgType.INSTALL_EXPR],
    ],
  );
  const f = await tb.startFlow();
  assert.equal(f.sid, 1);
  assert.deepEqual(
    tb.messages.slice(2).map((m) => [m.dir, m.msg.type]),
    [
      ['up', MsgType.CREATE],
      ['down', MsgType.CHANGE_PROG],
    ],
  );
  const t0 = tb.now();
  await f.rtts(3);
  assert.ok(tb.now() - t0 >= 3 * 20_000 - 100 && tb.now() - t0 <= 3 * 20_000 + 100, 'rtts() spans the RTTs');
  assert.ok(f.reports >= 2);
  assert.ok(
    f.cwndTrace.length >= 2 && f.cwndTrace.every((p, i) => i === 0 || p.tUs >= f.cwndTrace[i - 1].tUs),
  );
  assert.equal(f.cwndTrace.at(-1)!.cwnd, f.cwnd);
  await f.close();
  assert.equal(tb.agent.stats().flows, 0);
  await tb.close();
});

test('testbed: restartDatapath sends READY again, the agent re-installs and new flows work', async () => {
  const tb = await createTestbed({ algorithm: getAlgorithm('reno') });
  const f1 = await tb.startFlow();
  await f1.rtts(2);
  const before = tb.messages.length;
  await tb.restartDatapath();
  assert.deepEqual(
    tb.messages.slice(before).map((m) => m.msg.type),
    [MsgType.READY, MsgType.INSTALL_EXPR],
  );
  assert.equal(tb.agent.stats().flows, 0, 'old flows forgotten');
  const f2 = await tb.startFlow();
  assert.equal(f2.sid, 1, 'sids restart in the new datapath');
  await f2.rtts(3);
  assert.ok(f2.cwnd > 10 * 1448);
  await tb.close();
});

test('testbed: several algorithms, chosen by congAlg; close() runs the flows close hooks', async () => {
  const closed: string[] = [];
  const tagged = (name: string): Algorithm => {
    const inner = getAlgorithm('aimd');
    return {
      name,
      datapathPrograms: () => inner.datapathPrograms(),
      newFlow(dp, info) {
        const flow = inner.newFlow(dp, info);
        return { onReport: (r) => flow.onReport(r), close: () => closed.push(`${name}:${info.sockId}`) };
      },
    };
  };
  const tb = await createTestbed({ algorithm: [tagged('x'), tagged('y')], defaultAlgorithm: 'y' });
  assert.deepEqual(
    tb.agent.programs().map((p) => `${p.algorithm}/${p.uid}`),
    ['x/1', 'y/2'],
  );
  await tb.startFlow({ congAlg: 'x' });
  await tb.startFlow({ congAlg: 'nope' });
  await tb.close();
  assert.deepEqual(closed.sort(), ['x:1', 'y:2']);
});

test('testbed: ACK specs override primitives; loss and timeout reach the algorithm', async () => {
  const seen: { loss: number; timeout: number; rtt: number }[] = [];
  const spy: Algorithm = {
    name: 'spy',
    datapathPrograms: () => getAlgorithm('aimd').datapathPrograms(),
    newFlow(dp) {
      dp.setProgram('default');
      return { onReport: (r) => seen.push({ loss: r.loss, timeout: r.timeout, rtt: r.rtt }) };
    },
  };
  const tb = await createTestbed({ algorithm: spy });
  const f = await tb.startFlow();
  await f.ack({ rttSampleUs: 12_345, advanceUs: 50_000 });
  await f.ack({ rttSampleUs: 12_345, advanceUs: 50_000 });
  await f.loss();
  await f.timeout();
  assert.equal(seen[0].rtt, 12_345);
  assert.ok(seen.some((s) => s.loss === 1));
  assert.ok(seen.some((s) => s.timeout === 1));
  await tb.close();
});
