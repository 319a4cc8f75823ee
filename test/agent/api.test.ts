// API completeness found missing in an audit against portus/pyportus (issue #10): Cwnd/Rate limits,
// Report.from, Agent.wait(), distinct codes for unknown and stale report fields, and the address
// helpers for DatapathInfo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AlgBase,
  flowEndpoints,
  ipv4String,
  ipv4ToRaw,
  portNumber,
  portToRaw,
  startAgent,
  type Algorithm,
  type DatapathHandle,
  type DatapathInfo,
  type Report,
} from '../../src/agent/index.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { createChannel } from '../../src/ipc/index.ts';
import { decode, encodeCreate, encodeMeasure, encodeReady, MsgType } from '../../src/wire/index.ts';
import { harness, multiChannel, recordingLog, tick } from './helpers.ts';

const PROGRAM = '(def (Report (volatile acked 0))) (when true (:= Report.acked Ack.bytes_acked) (report))';
const isCode = (code: string) => (e: unknown) => e instanceof PortusError && e.code === code;

function controlled(): { alg: Algorithm; handles: DatapathHandle[]; reports: Report[] } {
  const handles: DatapathHandle[] = [];
  const reports: Report[] = [];
  const alg: Algorithm = {
    name: 'controlled',
    datapathPrograms: () => ({ p: PROGRAM }),
    newFlow(dp) {
      handles.push(dp);
      dp.setProgram('p');
      return { onReport: (r) => void reports.push(r) };
    },
  };
  return { alg, handles, reports };
}

test('Cwnd and Rate of 2^32 or more throw UPDATE_FIELD and send nothing; 2^32 - 1 is sent', async () => {
  const { alg, handles } = controlled();
  const h = harness({ algorithms: [alg] });
  await h.ready();
  await h.create(1);
  const dp = handles[0];
  h.take();
  for (const [name, v] of [
    ['Cwnd', 2 ** 32 + 5000],
    ['Rate', 2 ** 40],
    ['Cwnd', 2n ** 32n],
  ] as const) {
    assert.throws(() => dp.updateField(name, v), isCode(ErrorCodes.UPDATE_FIELD), `${name} ${v}`);
    assert.throws(() => dp.updateFields({ Rate: 1000, [name]: v }), isCode(ErrorCodes.UPDATE_FIELD));
    assert.throws(() => dp.setProgram('p', { [name]: v }), isCode(ErrorCodes.UPDATE_FIELD));
  }
  await tick();
  assert.deepEqual(h.take(), [], 'nothing sent for a rejected update');
  assert.equal(dp.cwnd, 14480, 'the flow keeps its last window');
  dp.updateField('Cwnd', 2 ** 32 - 1);
  await tick();
  const sent = h.take();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].type, MsgType.UPDATE_FIELDS);
  assert.equal(dp.cwnd, 2 ** 32 - 1);
  await h.agent.close();
});

test('Report.from names the datapath the report came from', async () => {
  const { alg, reports } = controlled();
  const names = ['/run/dp-a', '/run/dp-b'];
  const { agent: transport, datapaths } = multiChannel(names);
  const agent = startAgent({ transport, algorithms: [alg], log: recordingLog() });
  const froms: string[] = [];
  for (const d of datapaths) {
    d.send(encodeReady(0), 'agent');
    d.send(
      encodeCreate({
        sid: 1,
        initCwnd: 14480,
        mss: 1448,
        srcIp: 0,
        srcPort: 0,
        dstIp: 0,
        dstPort: 0,
        congAlg: '',
      }),
      'agent',
    );
  }
  await tick();
  for (const d of datapaths) d.send(encodeMeasure(1, 1, [1448]), 'agent');
  await tick();
  for (const r of reports) froms.push(r.from);
  assert.deepEqual(froms, names);
  assert.equal(reports[0].sockId, reports[1].sockId, 'same sid on both datapaths');
  await agent.close();
});

test('unknown report fields are REPORT_FIELD; stale reports and reads after onReport are STALE_REPORT', async () => {
  const codes: string[] = [];
  let kept: Report | null = null;
  const h = harness({
    algorithms: [
      {
        name: 'two',
        datapathPrograms: () => ({
          first: PROGRAM,
          second: '(def (Report (volatile rtt 0))) (when true (report))',
        }),
        newFlow(dp) {
          dp.setProgram('first');
          return {
            onReport(r) {
              kept = r;
              for (const name of ['nope', r.programName() === 'second' ? 'rtt' : 'acked']) {
                try {
                  r.get(name);
                  codes.push('ok');
                } catch (e) {
                  codes.push((e as PortusError).code);
                }
              }
            },
          };
        },
      },
    ],
  });
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [1448]); // current program: unknown name fails, known name reads
  await h.measure(1, 2, [10]); // a report of 'second', which the flow does not run: stale
  assert.deepEqual(codes, [ErrorCodes.REPORT_FIELD, 'ok', ErrorCodes.REPORT_FIELD, ErrorCodes.STALE_REPORT]);
  assert.throws(() => kept!.get('rtt'), isCode(ErrorCodes.STALE_REPORT));
  assert.notEqual(ErrorCodes.REPORT_FIELD, ErrorCodes.STALE_REPORT);
  await h.agent.close();
});

test('Agent.wait() fulfils when the agent stops, and rejects with the error if stopping failed', async () => {
  const { alg } = controlled();
  const ok = startAgent({ transport: createChannel().agent, algorithms: [alg], log: recordingLog() });
  let settled = false;
  const waiting = ok.wait().then(() => (settled = true));
  await tick();
  assert.equal(settled, false, 'pending while the agent runs');
  await ok.close();
  await waiting;
  assert.equal(settled, true);
  assert.equal(ok.wait(), ok.wait(), 'one promise');

  const ch = createChannel();
  const failure = new Error('close failed');
  const failing = startAgent({
    transport: {
      ...ch.agent,
      kind: 'channel',
      send: ch.agent.send,
      onMessage: ch.agent.onMessage,
      close: () => Promise.reject(failure),
    },
    algorithms: [alg],
    log: recordingLog(),
  });
  const w = failing.wait();
  await assert.rejects(failing.close(), /close failed/);
  await assert.rejects(w, (e) => e === failure);
  await ch.agent.close();
});

test("address helpers read a ccp-kernel CREATE (network byte order), as in the spec's example", () => {
  // wire-protocol.md §12: ccp-kernel's CREATE for 10.0.0.1:5001 > 10.0.0.2:40000.
  const bytes = Buffer.from(
    '0000600003000000903800' +
      '00a8050000' +
      '0a00000113890000' +
      '0a0000029c400000' +
      '72656e6f'.padEnd(128, '0'),
    'hex',
  );
  const m = decode(bytes);
  assert.equal(m.type, MsgType.CREATE);
  if (m.type !== MsgType.CREATE) return;
  const info: DatapathInfo = { ...m, sockId: m.sid };
  assert.equal(ipv4String(info.srcIp), '10.0.0.1');
  assert.equal(portNumber(info.srcPort), 5001);
  assert.equal(flowEndpoints(info), '10.0.0.1:5001 > 10.0.0.2:40000');
  assert.equal(ipv4ToRaw('10.0.0.1'), m.srcIp);
  assert.equal(portToRaw(40000), m.dstPort);
  for (const ip of ['0.0.0.0', '255.255.255.255', '192.168.1.20'])
    assert.equal(ipv4String(ipv4ToRaw(ip)), ip);
  for (const p of [0, 1, 443, 65535]) assert.equal(portNumber(portToRaw(p)), p);
  for (const bad of ['1.2.3', '1.2.3.256', 'a.b.c.d', '1.2.3.4.5'])
    assert.throws(() => ipv4ToRaw(bad), isCode(ErrorCodes.USAGE));
  assert.throws(() => portToRaw(65536), isCode(ErrorCodes.USAGE));
});

test('the agent logs a created flow with its endpoints', async () => {
  class Quiet extends AlgBase {
    static override algName = 'quiet';
  }
  const h = harness({ algorithms: [Quiet] });
  await h.ready();
  await h.send(
    encodeCreate({
      sid: 5,
      initCwnd: 14480,
      mss: 1448,
      srcIp: ipv4ToRaw('10.0.0.1'),
      srcPort: portToRaw(5001),
      dstIp: ipv4ToRaw('10.0.0.2'),
      dstPort: portToRaw(40000),
      congAlg: '',
    }),
  );
  assert.ok(
    h.log.has('debug', 'flow 5 (channel) 10.0.0.1:5001 > 10.0.0.2:40000 created'),
    h.log.lines.join('\n'),
  );
  await h.agent.close();
});
