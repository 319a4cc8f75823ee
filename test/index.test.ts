// The package entry: `import ... from 'portus'` is the one place a user needs, for every layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as portus from 'portus';
import * as testing from 'portus/testing';
import { decode, encodeChangeProg, encodeInstall, MsgType } from '../src/wire/index.ts';

test("'portus' exports the algorithm API, compiler, transports, datapath and simulator", () => {
  for (const name of [
    'AlgBase',
    'connect',
    'startAgent',
    'getAlgorithm',
    'algorithmNames',
    'compile',
    'disassemble',
    'openTransport',
    'createChannel',
    'createDatapath',
    'runSimulation',
    'runRealtime',
    'loadScenario',
    'PortusError',
    'CompileError',
  ]) {
    assert.equal(typeof (portus as Record<string, unknown>)[name], 'function', name);
  }
  assert.deepEqual(portus.algorithmNames(), [
    'aimd',
    'const',
    'reno',
    'cubic',
    'bbr',
    'copa',
    'vegas',
    'nimbus',
    'dctcp',
  ]);
  assert.equal(typeof testing.createTestbed, 'function');
});

test("'portus' compiles a program and a datapath built from it runs the result", () => {
  const p = portus.compile(
    '(def (Report (volatile acked 0))) (when true (:= Report.acked Ack.bytes_acked) (report))',
  );
  assert.deepEqual(p.scope.reportFields, ['Report.acked']);
  const sent: Buffer[] = [];
  const dp = portus.createDatapath({
    now: () => 1,
    send: (m) => (sent.push(Buffer.from(m)), 0),
    setCwnd: () => {},
    setRate: () => {},
  });
  assert.equal(dp.init(), 0);
  const conn = dp.startConnection({
    initCwnd: 14480,
    mss: 1448,
    srcIp: 0,
    srcPort: 0,
    dstIp: 0,
    dstPort: 0,
    congAlg: '',
  })!;
  assert.equal(dp.receive(encodeInstall(p.uid, p.events, p.instructions)), 0);
  assert.equal(dp.receive(encodeChangeProg(conn.sid, p.uid, [])), 0);
  conn.prims.bytesAcked = 1448;
  conn.prims.sndCwnd = 14480;
  assert.equal(dp.invoke(conn), 0);
  const report = decode(sent[sent.length - 1]!);
  assert.equal(report.type, MsgType.MEASURE);
  assert.deepEqual(report.type === MsgType.MEASURE && report.fields, [1448n]);
});
