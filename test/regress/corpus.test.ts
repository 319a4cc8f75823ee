// Regression corpus (issue 12): the reliability campaign's inputs, replayed deterministically in CI.
// 2,500 mutated programs must compile or fail with a CompileError, and run or be refused by the
// datapath machine; 20,000 hostile datagrams must cost the agent neither a legitimate datapath's
// flow nor unbounded state or log lines; 20,000 hostile datagrams to the datapath machine must never
// throw, and it must recover with a valid program afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type Algorithm, type Logger } from '../../src/agent/index.ts';
import { ACK_UPDATE_PROG, INTERVAL_PROG, SS_UPDATE_PROG } from '../../src/algorithms/programs.ts';
import { createDatapath } from '../../src/datapath/index.ts';
import { CompileError } from '../../src/errors.ts';
import type { Address, ReceiveHandler, Transport } from '../../src/ipc/index.ts';
import { compile } from '../../src/lang/index.ts';
import {
  MsgType,
  decode,
  encodeChangeProg,
  encodeCreate,
  encodeInstall,
  encodeMeasure,
  encodeReady,
} from '../../src/wire/index.ts';
import { EXAMPLE_A, EXAMPLE_B, EXAMPLE_C } from '../lang/fixtures.ts';
import { hostileDatagrams, mutatedPrograms } from './corpus.ts';

const SEEDS = [EXAMPLE_A, EXAMPLE_B, EXAMPLE_C, INTERVAL_PROG, ACK_UPDATE_PROG, SS_UPDATE_PROG];
const REPORT_PROG = `(def (Report (volatile acked 0)))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))`;

test('2,500 mutated programs: each compiles or throws a CompileError; compiled ones install or are refused by the datapath', () => {
  const progs = mutatedPrograms(SEEDS, 2500);
  let compiled = 0;
  let refused = 0;
  const dp = createDatapath({ now: () => 1, send: () => 0, setCwnd() {}, setRate() {} });
  assert.equal(dp.init(), 0);
  progs.forEach((src, i) => {
    let p;
    try {
      p = compile(src, { uid: 1 + (i % 9) });
    } catch (e) {
      if (!(e instanceof CompileError)) {
        assert.fail(`case ${i}: ${(e as Error).stack}\n--- program ---\n${src}`);
      }
      assert.ok(e.line >= 1 && e.column >= 1, `case ${i}: position`);
      assert.equal(typeof e.format('p'), 'string');
      return;
    }
    compiled++;
    const code = dp.receive(encodeInstall(p.uid, p.events, p.instructions));
    assert.equal(typeof code, 'number', `case ${i}`);
    if (code !== 0) refused++;
  });
  // the corpus exercises both sides
  assert.ok(compiled > 50 && compiled < 2400, `${compiled} compiled, ${refused} refused`);
});

/** A fake agent transport: the test delivers datagrams from any address and sees every send. */
function transport() {
  let handler: ReceiveHandler | null = null;
  const sent: { to: Address; type: number; sid: number }[] = [];
  const t: Transport = {
    kind: 'test',
    send(msg: Uint8Array, to: Address) {
      const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
      sent.push({ to, type: b.readUInt16LE(0), sid: b.readUInt32LE(4) });
    },
    onMessage(h) {
      handler = h;
    },
    close: () => Promise.resolve(),
  };
  return { t, sent, deliver: (buf: Buffer, from: Address) => handler!(buf, from) };
}

test('20,000 hostile datagrams from 50 senders: the legitimate flow keeps every update, state and log lines stay bounded', async () => {
  let lines = 0;
  const counting: Logger = {
    debug() {},
    info: () => void lines++,
    warn: () => void lines++,
    error: () => void lines++,
  };
  let goodReports = 0;
  let goodClosed = false;
  const alg: Algorithm = {
    name: 'cwnd',
    datapathPrograms: () => ({ p: REPORT_PROG }),
    newFlow(dp, info) {
      dp.setProgram('p');
      return {
        onReport(r) {
          if (info.sockId === 1 && dp.programName === 'p') goodReports++;
          dp.updateField('Cwnd', 10_000 + (r.acked % 1000));
        },
        close() {
          if (info.sockId === 1) goodClosed = true;
        },
      };
    },
  };
  const tr = transport();
  const agent = startAgent({
    transport: tr.t,
    algorithms: [alg],
    log: counting,
    limits: { maxFlowsPerDatapath: 1000, maxFlows: 20_000, idleTimeoutMs: 0 },
  });
  const GOOD = '/tmp/ccp/good';
  tr.deliver(encodeReady(1), GOOD);
  tr.deliver(
    encodeCreate({
      sid: 1,
      initCwnd: 14480,
      mss: 1448,
      srcIp: 1,
      srcPort: 2,
      dstIp: 3,
      dstPort: 4,
      congAlg: '',
    }),
    GOOD,
  );
  const hostile = hostileDatagrams(20_000);
  let legit = 0;
  hostile.forEach((b, i) => {
    tr.deliver(b, `/tmp/ccp/evil-${i % 50}`);
    if (i % 100 === 0) {
      const before = tr.sent.length;
      tr.deliver(encodeMeasure(1, 1, [1448]), GOOD);
      legit++;
      const reply = tr.sent.slice(before).filter((s) => s.to === GOOD);
      assert.deepEqual(
        reply.map((s) => [s.type, s.sid]),
        [[MsgType.UPDATE_FIELDS, 1]],
        `legitimate report ${legit} (after hostile case ${i}) answered`,
      );
    }
  });
  assert.equal(goodReports, legit);
  assert.ok(!goodClosed, 'the legitimate flow was never closed by a hostile sender');
  const s = agent.stats();
  assert.ok(s.flows <= 50 * 1000 + 1, `${s.flows} flows`);
  assert.ok(s.datapaths <= 51, `${s.datapaths} datapaths`);
  assert.ok(lines < 1000, `${lines} log lines for 20,000 hostile datagrams`);
  await agent.close();
  assert.ok(goodClosed, 'closed at shutdown');
});

test('20,000 hostile datagrams to the datapath machine: never a throw, and a valid program works afterwards', () => {
  let now = 1;
  const sent: Buffer[] = [];
  let cwnd = 0;
  const dp = createDatapath({
    now: () => now,
    send: (m) => {
      sent.push(Buffer.from(m));
      return 0;
    },
    setCwnd: (_c, b) => void (cwnd = b),
    setRate() {},
  });
  assert.equal(dp.init(), 0);
  const conn = dp.startConnection({
    initCwnd: 14480,
    mss: 1448,
    srcIp: 1,
    srcPort: 2,
    dstIp: 3,
    dstPort: 4,
    congAlg: '',
  })!;
  const codes = new Map<number, number>();
  hostileDatagrams(20_000, 99).forEach((b, i) => {
    let code: number;
    try {
      code = dp.receive(b);
      now += 10;
      conn.prims.bytesAcked = 1448;
      dp.invoke(conn);
    } catch (e) {
      assert.fail(`case ${i} (${b.toString('hex')}): ${(e as Error).stack}`);
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  });
  assert.ok(codes.size > 3, `varied result codes: ${[...codes.keys()].join(' ')}`);
  const p = compile(`(def (Report (volatile acked 0)))\n(when true (:= Cwnd 20000) (report))`, { uid: 1 });
  assert.equal(dp.receive(encodeInstall(1, p.events, p.instructions)), 0);
  assert.equal(dp.receive(encodeChangeProg(conn.sid, 1, [])), 0);
  now += 10;
  assert.equal(dp.invoke(conn), 0);
  assert.equal(cwnd, 20000);
  assert.equal(decode(sent.at(-1)!).type, MsgType.MEASURE);
});
