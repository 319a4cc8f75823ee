// Agent runtime over the in-process channel: the test plays the datapath with real wire bytes.
// Checklist numbers (conformance-checklist.md §E, §F) are in the test titles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlgBase,
  ProgramsError,
  createLogger,
  startAgent,
  type Algorithm,
  type DatapathHandle,
  type DatapathInfo,
  type Report,
} from '../../src/agent/index.ts';
import { CompileError, ErrorCodes, PortusError } from '../../src/errors.ts';
import { createChannel } from '../../src/ipc/index.ts';
import {
  MsgType,
  decode,
  encodeCreate,
  encodeInstall,
  encodeMeasure,
  encodeReady,
  encodeUpdateFields,
  type Message,
} from '../../src/wire/index.ts';
import { harness, multiChannel, recordingLog, tick } from './helpers.ts';

const P1 = `(def (Report (volatile acked 0) (volatile loss 0)) (gain 1) (volatile pulse 0))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (:= Report.loss Ack.lost_pkts_sample) (report))`;
const P2 = `(def (Report (rtt 0) (inflight 0)))
(when true (:= Report.rtt Flow.rtt_sample_us) (:= Report.inflight Flow.packets_in_flight) (report))`;
const P3 = `(def (Report (volatile acked 0)))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))`;

interface Events {
  created: { alg: string; info: DatapathInfo }[];
  reports: { alg: string; sid: number; uid: number; values: Record<string, number> }[];
  closed: { alg: string; sid: number }[];
  handles: Map<number, DatapathHandle>;
}

/** A portus-style algorithm recording everything; `onReport` may be replaced per test. */
function recorder(
  name: string,
  programs: Record<string, string>,
  ev: Events,
  first: string,
  onReport?: (r: Report, dp: DatapathHandle) => void,
): Algorithm {
  return {
    name,
    datapathPrograms: () => programs,
    newFlow(dp, info) {
      ev.created.push({ alg: name, info });
      ev.handles.set(info.sockId, dp);
      dp.setProgram(first);
      return {
        onReport(r) {
          const values: Record<string, number> = {};
          try {
            if (!r.isStale()) for (const f of r.fieldNames()) values[f] = r.get(f);
          } catch {
            // missing fields: the test's own onReport looks at them
          }
          ev.reports.push({ alg: name, sid: r.sockId, uid: r.programUid, values });
          onReport?.(r, dp);
        },
        close() {
          ev.closed.push({ alg: name, sid: info.sockId });
        },
      };
    },
  };
}

function events(): Events {
  return { created: [], reports: [], closed: [], handles: new Map() };
}

function setup(onReport?: (r: Report, dp: DatapathHandle) => void) {
  const ev = events();
  const alpha = recorder('alpha', { first: P1, second: P2 }, ev, 'first', onReport);
  const beta = recorder('beta', { only: P3 }, ev, 'only', onReport);
  const h = harness({ algorithms: [alpha, beta] });
  return { ev, h };
}

const types = (ms: Message[]) => ms.map((m) => m.type);
const installs = (ms: Message[]) =>
  ms.filter((m) => m.type === MsgType.INSTALL_EXPR).map((m) => (m as { programUid: number }).programUid);

test('54: program uids are 1..N in registration order, programs in declaration order', () => {
  const { h } = setup();
  assert.deepEqual(h.agent.programs(), [
    { uid: 1, name: 'first', algorithm: 'alpha' },
    { uid: 2, name: 'second', algorithm: 'alpha' },
    { uid: 3, name: 'only', algorithm: 'beta' },
  ]);
  // deterministic: the same registration gives the same uids
  assert.deepEqual(setup().h.agent.programs(), h.agent.programs());
});

test('60: on READY the agent sends one INSTALL_EXPR per program, ascending uids from 1, byte-exact', async () => {
  const { h } = setup();
  await h.ready();
  assert.deepEqual(types(h.out), [2, 2, 2]);
  assert.deepEqual(installs(h.out), [1, 2, 3]);
  const m = h.out[0] as Extract<Message, { type: 2 }>;
  assert.deepEqual(h.raw[0], encodeInstall(1, m.events, m.instructions));
  assert.equal(m.sid, 0);
});

test('61: READY from a known datapath forgets its flows (no close hook) and re-installs', async () => {
  const { h, ev } = setup();
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [100, 0]);
  assert.equal(ev.reports.length, 1);
  h.take();
  await h.ready();
  assert.deepEqual(installs(h.out), [1, 2, 3]);
  await h.measure(1, 1, [100, 0]);
  assert.equal(ev.reports.length, 1, 'MEASURE for a forgotten flow is ignored');
  assert.equal(ev.closed.length, 0, 'no close hook on READY');
  assert.equal(h.agent.stats().flows, 0);
});

test('62: CREATE from an unknown datapath: all INSTALLs first, then the CHANGE_PROG', async () => {
  const { h } = setup();
  await h.create(7);
  assert.deepEqual(types(h.out), [2, 2, 2, 4]);
  assert.deepEqual(installs(h.out), [1, 2, 3]);
  const cp = h.out[3] as Extract<Message, { type: 4 }>;
  assert.equal(cp.sid, 7);
  assert.equal(cp.programUid, 1);
});

test('63: algorithm chosen by exact congAlg match, else the default; flow gets sid, init_cwnd, mss, 4-tuple', async () => {
  const { h, ev } = setup();
  await h.ready();
  await h.create(1, 'beta', 28960, 1000);
  await h.create(2, 'Beta');
  await h.create(3, '');
  assert.deepEqual(
    ev.created.map((c) => c.alg),
    ['beta', 'alpha', 'alpha'],
  );
  assert.deepEqual(ev.created[0].info, {
    sockId: 1,
    initCwnd: 28960,
    mss: 1000,
    srcIp: 1,
    srcPort: 2,
    dstIp: 3,
    dstPort: 4,
    congAlg: 'beta',
  });
  // defaultAlgorithm option
  const ev2 = events();
  const h2 = harness({
    algorithms: [recorder('a', { p: P3 }, ev2, 'p'), recorder('b', { q: P3 }, ev2, 'q')],
    defaultAlgorithm: 'b',
  });
  await h2.create(1, 'zzz');
  assert.equal(ev2.created[0].alg, 'b');
});

test('64: CREATE for a known sid replaces the flow (old one gets nothing more, no close hook)', async () => {
  const { h, ev } = setup();
  await h.ready();
  await h.create(1, 'alpha');
  await h.create(1, 'beta');
  assert.equal(h.agent.stats().flows, 1);
  await h.measure(1, 3, [5]);
  assert.deepEqual(
    ev.reports.map((r) => r.alg),
    ['beta'],
  );
  assert.equal(ev.closed.length, 0);
});

test('65: CHANGE_PROG is never sent before the INSTALL of its program (start-up and run-time installs)', async () => {
  const src = `(def (Report (volatile x 0))) (when true (:= Report.x Ack.bytes_acked) (report))`;
  class Classic extends AlgBase {
    override onCreate() {
      this.datapath.install(src);
    }
  }
  const { ev } = setup();
  const h = harness({ algorithms: [recorder('alpha', { first: P1 }, ev, 'first'), Classic] });
  await h.create(1, 'Classic');
  await h.create(2, 'alpha');
  await h.ready();
  await h.create(1, 'Classic');
  const installed = new Set<number>();
  for (const m of h.out) {
    if (m.type === MsgType.READY) installed.clear();
    if (m.type === MsgType.INSTALL_EXPR) installed.add(m.programUid);
    if (m.type === MsgType.CHANGE_PROG)
      assert.ok(installed.has(m.programUid), `uid ${m.programUid} installed first`);
  }
  assert.deepEqual(types(h.out), [2, 2, 4, 4, 2, 2, 4]);
});

test('66: MEASURE with num_fields 0 closes the flow once; later MEASUREs for it are ignored', async () => {
  const { h, ev } = setup();
  await h.ready();
  await h.create(1);
  await h.close(1);
  await h.close(1);
  await h.measure(1, 1, [1, 2]);
  assert.deepEqual(ev.closed, [{ alg: 'alpha', sid: 1 }]);
  assert.equal(ev.reports.length, 0);
  assert.equal(h.agent.stats().flows, 0);
});

test('67: MEASURE from an unknown datapath or for an unknown sid is ignored', async () => {
  const { h, ev } = setup();
  await h.measure(1, 1, [1, 2]); // nobody registered yet
  assert.deepEqual(h.out, [], 'nothing sent for an unknown datapath');
  await h.ready();
  h.take();
  await h.measure(9, 1, [1, 2]);
  await h.close(9);
  assert.equal(ev.reports.length + ev.closed.length, 0);
  assert.deepEqual(h.out, []);
  assert.equal(h.agent.stats().dropped, 3);
});

test('68: a MEASURE with fields is delivered with its program uid and fields', async () => {
  const { h, ev } = setup();
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [1448, 3]);
  assert.deepEqual(ev.reports, [
    { alg: 'alpha', sid: 1, uid: 1, values: { 'Report.acked': 1448, 'Report.loss': 3 } },
  ]);
});

test('69: replies go to the exact address each datapath wrote from; two datapaths at once', async () => {
  const ev = events();
  const mc = multiChannel(['/tmp/ccp/dp-a', '/tmp/ccp/dp-b']);
  const got: Message[][] = [[], []];
  mc.datapaths.forEach((d, i) => d.onMessage((b) => got[i].push(decode(b))));
  startAgent({
    transport: mc.agent,
    algorithms: [
      recorder('alpha', { first: P1 }, ev, 'first', (r, dp) => dp.updateField('Cwnd', r.acked * 10)),
    ],
    log: recordingLog(),
  });
  mc.datapaths[0].send(encodeReady(0), 'x');
  mc.datapaths[1].send(encodeReady(0), 'x');
  await tick();
  mc.datapaths[0].send(encodeCreate(cinfo(1)), 'x');
  mc.datapaths[1].send(encodeCreate(cinfo(1)), 'x');
  await tick();
  mc.datapaths[0].send(encodeMeasure(1, 1, [10, 0]), 'x');
  mc.datapaths[1].send(encodeMeasure(1, 1, [20, 0]), 'x');
  await tick();
  const updates = got.map((g) => g.filter((m) => m.type === MsgType.UPDATE_FIELDS));
  assert.deepEqual(
    updates.map((u) => u.map((m) => (m as Extract<Message, { type: 3 }>).updates[0].value)),
    [[100n], [200n]],
  );
  assert.deepEqual(types(got[0]), [2, 4, 3]);
  assert.deepEqual(types(got[1]), [2, 4, 3]);
});

function cinfo(sid: number, congAlg = '') {
  return { sid, initCwnd: 14480, mss: 1448, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, congAlg };
}

test('70: more start-up programs than the datapath holds fails with PROGRAM_TABLE_FULL', () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 10; i++) many[`p${i}`] = P3;
  const { agent } = createChannel();
  assert.throws(
    () =>
      startAgent({
        transport: agent,
        algorithms: [recorder('m', many, events(), 'p0')],
        log: recordingLog(),
      }),
    (e: unknown) =>
      e instanceof PortusError && e.code === ErrorCodes.PROGRAM_TABLE_FULL && /at most 9/.test(e.message),
  );
  // a bigger table is configurable
  startAgent({
    transport: agent,
    algorithms: [recorder('m', many, events(), 'p0')],
    log: recordingLog(),
    maxPrograms: 10,
  });
});

test('70: run-time installs beyond the table fail with PROGRAM_TABLE_FULL and a warning, sending nothing', async () => {
  let n = 0;
  const errors: unknown[] = [];
  class Grower extends AlgBase {
    override onCreate() {
      try {
        // each flow installs a different program
        this.datapath.install(
          `(def (Report (volatile x ${n++}))) (when true (:= Report.x Ack.bytes_acked) (report))`,
        );
      } catch (e) {
        errors.push(e);
      }
    }
  }
  const h = harness({ algorithms: [Grower], maxPrograms: 3 });
  for (let sid = 1; sid <= 4; sid++) await h.create(sid);
  assert.deepEqual(installs(h.out), [1, 2, 3]);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof PortusError && errors[0].code === ErrorCodes.PROGRAM_TABLE_FULL);
  assert.ok(h.log.has('warn', 'program table is full'));
  assert.deepEqual(types(h.out), [2, 4, 2, 4, 2, 4]);
});

test('55: a report of a program the flow no longer runs is a clear error when read (stale)', async () => {
  const seen: { stale: boolean; name: string; err?: unknown }[] = [];
  const { h } = setup((r) => {
    const rec: { stale: boolean; name: string; err?: unknown } = {
      stale: r.isStale(),
      name: r.programName(),
    };
    try {
      void r.get('rtt'); // a Report variable of 'second', but the flow runs 'first'
    } catch (e) {
      rec.err = e;
    }
    seen.push(rec);
  });
  await h.ready();
  await h.create(1); // runs uid 1 'first'
  await h.measure(1, 2, [7, 8]); // a report from 'second'
  assert.equal(seen.length, 1);
  assert.equal(seen[0].stale, true);
  assert.equal(seen[0].name, 'second');
  assert.ok(seen[0].err instanceof PortusError && seen[0].err.code === ErrorCodes.STALE_REPORT);
  assert.match((seen[0].err as Error).message, /stale report/);
});

test('56: fields by register index, short and full names; control variables, locals and unknown names fail', async () => {
  const out: Record<string, unknown> = {};
  const { h } = setup((r) => {
    out.acked = r.acked;
    out.loss = r.loss;
    out.full = r.get('Report.loss');
    out.big = r.getBig('acked');
    out.names = r.fieldNames();
    for (const bad of ['gain', 'pulse', 'Cwnd', 'nope', 'Report.nope']) {
      try {
        r.get(bad);
        out[bad] = 'no error';
      } catch (e) {
        out[bad] = (e as PortusError).code;
      }
    }
    try {
      void r.nope;
      out.prop = 'no error';
    } catch (e) {
      out.prop = (e as PortusError).code;
    }
  });
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [2n ** 64n - 1n, 42]);
  assert.equal(out.acked, 2 ** 64);
  assert.equal(out.big, 2n ** 64n - 1n);
  assert.equal(out.loss, 42);
  assert.equal(out.full, 42);
  assert.deepEqual(out.names, ['Report.acked', 'Report.loss']);
  for (const bad of ['gain', 'pulse', 'Cwnd', 'nope', 'Report.nope', 'prop']) {
    assert.equal(out[bad], ErrorCodes.REPORT_FIELD, bad);
  }
});

test('56: a report read after onReport returned, or with missing fields, is a clear error', async () => {
  let kept: Report | null = null;
  let missing: unknown;
  const { h } = setup((r) => {
    kept = r;
    if (r.fieldNames().length === 2) {
      try {
        void r.loss;
      } catch (e) {
        missing = e;
      }
    }
  });
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [5]); // one field only
  assert.ok(missing instanceof PortusError && /missing/.test(missing.message));
  assert.throws(
    () => kept!.acked,
    (e: unknown) =>
      e instanceof PortusError &&
      e.code === ErrorCodes.STALE_REPORT &&
      /after onReport returned/.test(e.message),
  );
});

test('57: update records: control (0,i), volatile control (8,i), Cwnd (2,4), Rate (2,5); batched per callback', async () => {
  const { h } = setup((_r, dp) => {
    dp.updateField('gain', 5);
    dp.updateField('pulse', 6);
    dp.updateField('Cwnd', 14480);
    dp.updateFields({ Rate: 125000n });
  });
  await h.ready();
  await h.create(1);
  h.take();
  await h.measure(1, 1, [1, 0]);
  assert.equal(h.out.length, 1, 'one UPDATE_FIELDS per callback');
  assert.deepEqual(h.out[0], {
    type: 3,
    sid: 1,
    updates: [
      { regType: 0, regIndex: 0, value: 5n },
      { regType: 8, regIndex: 1, value: 6n },
      { regType: 2, regIndex: 4, value: 14480n },
      { regType: 2, regIndex: 5, value: 125000n },
    ],
  });
  // byte-identical to the wire encoder's output
  assert.deepEqual(h.raw[0], encodeUpdateFields(1, (h.out[0] as Extract<Message, { type: 3 }>).updates));
});

test('58: updating a Report variable, Micros, a primitive, a local, an unknown or __ name fails and sends nothing', async () => {
  const codes: Record<string, string> = {};
  const { h } = setup((_r, dp) => {
    for (const bad of ['acked', 'Report.acked', 'Micros', 'Ack.bytes_acked', 'nope', '__shouldReport']) {
      try {
        dp.updateField(bad, 1);
        codes[bad] = 'sent';
      } catch (e) {
        codes[bad] = (e as PortusError).code;
      }
    }
    try {
      dp.updateFields([
        ['Cwnd', 1],
        ['nope', 2],
      ]);
    } catch (e) {
      codes.batch = (e as PortusError).code;
    }
    for (const v of [-1, NaN, Infinity, -1n, 2n ** 64n]) {
      try {
        dp.updateField('Cwnd', v);
      } catch (e) {
        codes[`value ${typeof v} ${String(v)}`] = (e as PortusError).code;
      }
    }
  });
  await h.ready();
  await h.create(1);
  h.take();
  await h.measure(1, 1, [1, 0]);
  assert.equal(Object.keys(codes).length, 12);
  for (const [k, c] of Object.entries(codes)) assert.equal(c, ErrorCodes.UPDATE_FIELD, k);
  assert.deepEqual(h.out, [], 'nothing sent');
});

test('59: CHANGE_PROG field names are resolved against the target program', async () => {
  const res: Record<string, string> = {};
  const { h } = setup((_r, dp) => {
    try {
      dp.setProgram('second', { gain: 1 }); // 'second' has no control 'gain'
      res.second = 'sent';
    } catch (e) {
      res.second = (e as PortusError).code;
    }
    try {
      dp.setProgram('nope');
    } catch (e) {
      res.nope = (e as PortusError).code;
    }
    dp.setProgram('first', { gain: 3, Cwnd: 20000 });
  });
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [1, 0]);
  assert.equal(res.second, ErrorCodes.UPDATE_FIELD);
  assert.equal(res.nope, ErrorCodes.UNKNOWN_PROGRAM);
  const last = h.out.at(-1) as Extract<Message, { type: 4 }>;
  assert.deepEqual(last, {
    type: 4,
    sid: 1,
    programUid: 1,
    updates: [
      { regType: 0, regIndex: 0, value: 3n },
      { regType: 2, regIndex: 4, value: 20000n },
    ],
  });
});

test('UPDATE_FIELDS with more than 127 updates is split into messages of at most 127', async () => {
  const list: [string, number][] = [];
  for (let i = 0; i < 300; i++) list.push(['gain', i]);
  const { h } = setup((_r, dp) => dp.updateFields(list));
  await h.ready();
  await h.create(1);
  h.take();
  await h.measure(1, 1, [1, 0]);
  const counts = h.out.map((m) => (m as Extract<Message, { type: 3 }>).updates.length);
  assert.deepEqual(counts, [127, 127, 46]);
  const values = h.out.flatMap((m) =>
    (m as Extract<Message, { type: 3 }>).updates.map((u) => Number(u.value)),
  );
  assert.deepEqual(
    values,
    list.map(([, v]) => v),
  );
});

test('r.Cwnd and r.Rate are the last values sent for the flow (initially init_cwnd and 0)', async () => {
  const seen: [number, number][] = [];
  const { h } = setup((r, dp) => {
    seen.push([r.Cwnd, r.Rate]);
    dp.updateFields({ Cwnd: 30000, Rate: 1e6 });
  });
  await h.ready();
  await h.create(1, '', 14480);
  await h.measure(1, 1, [1, 0]);
  await h.measure(1, 1, [1, 0]);
  assert.deepEqual(seen, [
    [14480, 0],
    [30000, 1e6],
  ]);
});

test('isolation: an exception in one flow is logged with its sid and changes nothing else', async () => {
  const { h, ev } = setup((r, dp) => {
    if (r.sockId === 1) throw new Error('boom in flow 1');
    dp.updateField('Cwnd', 1000);
  });
  await h.ready();
  await h.create(1);
  await h.create(2);
  h.take();
  await h.measure(1, 1, [1, 0]);
  await h.measure(2, 1, [1, 0]);
  await h.measure(1, 1, [1, 0]);
  assert.ok(h.log.has('error', /flow 1 \(channel\): onReport threw: Error: boom in flow 1/));
  assert.equal(ev.reports.length, 3);
  assert.deepEqual(types(h.out), [3]);
  assert.equal(h.agent.stats().flows, 2);
  assert.equal(h.agent.stats().errors, 2);
});

test('isolation: a throwing newFlow or close hook is logged and the agent carries on', async () => {
  const bad: Algorithm = {
    name: 'bad',
    datapathPrograms: () => ({ p: P3 }),
    newFlow(dp, info) {
      if (info.sockId === 1) throw new Error('cannot create');
      dp.setProgram('p');
      return {
        onReport() {},
        close() {
          throw new Error('cannot close');
        },
      };
    },
  };
  const h = harness({ algorithms: [bad] });
  await h.create(1);
  await h.create(2);
  await h.measure(1, 1, [1]); // flow 1 has no flow object: dropped
  await h.close(2);
  assert.ok(h.log.has('error', /flow 1 .*creating the flow \(bad\) threw: Error: cannot create/));
  assert.equal(h.agent.stats().flows, 1);
  // later exceptions are counted per flow and summarised (at the latest when the agent closes)
  await h.agent.close();
  assert.ok(h.log.has('error', /threw 1 more times .*flow 2 \(channel\): 1.*last: close\(\) threw/));
});

test('malformed and unknown messages are logged and dropped; state is unchanged', async () => {
  const { h, ev } = setup((_r, dp) => dp.updateField('Cwnd', 2000));
  await h.ready();
  await h.create(1);
  h.take();
  const garbage = [
    Buffer.from([1, 2, 3]),
    Buffer.alloc(0),
    Buffer.from('hello world, this is not a CCP message at all'),
    (() => {
      const b = encodeMeasure(1, 1, [1, 2]);
      b.writeUInt16LE(200, 2); // Len beyond the buffer
      return b;
    })(),
    (() => {
      const b = encodeMeasure(1, 1, [1, 2]);
      b.writeUInt16LE(0x0101, 0); // unknown type 257
      return b;
    })(),
    encodeInstall(1, [], []), // a type the agent never receives
    encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 5n }]),
  ];
  for (const g of garbage) await h.send(g);
  assert.deepEqual(h.out, []);
  assert.equal(ev.reports.length, 0);
  // rate-limited per sender: the first three in full, the rest counted
  assert.equal(h.log.lines.filter((l) => l.startsWith('warn')).length, 3);
  // still fully working
  await h.measure(1, 1, [1, 0]);
  assert.equal(ev.reports.length, 1);
  assert.deepEqual(types(h.out), [3]);
  // several messages in one buffer are all handled
  await h.send(Buffer.concat([encodeMeasure(1, 1, [1, 0]), encodeMeasure(1, 1, [2, 0])]));
  assert.equal(ev.reports.length, 3);
  await h.agent.close();
  assert.ok(h.log.has('warn', /\[3 more like this \(malformed:channel\) suppressed/));
});

test('start-up fails listing every compile error with line and column', () => {
  const { agent } = createChannel();
  const a: Algorithm = {
    name: 'a',
    datapathPrograms: () => ({
      ok: P3,
      bad1: '(def (Report (x 0)))\n(when true\n  (:= Report.x (+ Report.x 1 2)))',
    }),
    newFlow: () => ({ onReport() {} }),
  };
  const b: Algorithm = {
    name: 'b',
    datapathPrograms: () => ({ bad2: '(def (Report (x 0))\n(when true (report))' }),
    newFlow: () => ({ onReport() {} }),
  };
  let err: unknown;
  try {
    startAgent({ transport: agent, algorithms: [a, b], log: recordingLog() });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ProgramsError);
  assert.equal(err.code, ErrorCodes.COMPILE);
  assert.deepEqual(
    err.errors.map((e) => [e.algorithm, e.program, e.error instanceof CompileError]),
    [
      ['a', 'bad1', true],
      ['b', 'bad2', true],
    ],
  );
  assert.match(err.message, /a\/bad1:3:\d+: error:/);
  assert.match(err.message, /b\/bad2:\d+:\d+: error:/);
});

test('classic style: install() compiles at run time, reuses an identical installed program, CompileError with line/col', async () => {
  const src = `(def (Report (volatile acked 0)) (k 0))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))`;
  const seen: number[] = [];
  let compileErr: unknown;
  class Classic extends AlgBase {
    static override algName = 'classic';
    override onCreate() {
      this.datapath.install(src, { Cwnd: 10 * this.datapathInfo.mss, k: 1 });
      try {
        this.datapath.install('(def (Report (x 0)))\n(when true\n  (:= Report.x (foo 1)))');
      } catch (e) {
        compileErr = e;
      }
    }
    override onReport(r: Report) {
      seen.push(r.acked);
      this.datapath.updateField('k', r.acked);
    }
  }
  const h = harness({ algorithms: [Classic] });
  await h.create(1);
  await h.create(2);
  assert.deepEqual(types(h.out), [2, 4, 4], 'second flow reuses the installed program');
  assert.deepEqual(installs(h.out), [1]);
  assert.deepEqual((h.out[1] as Extract<Message, { type: 4 }>).updates, [
    { regType: 2, regIndex: 4, value: 14480n },
    { regType: 0, regIndex: 0, value: 1n },
  ]);
  assert.ok(compileErr instanceof CompileError);
  assert.equal(compileErr.line, 3);
  h.take();
  await h.measure(2, 1, [99]);
  assert.deepEqual(seen, [99]);
  assert.deepEqual(h.out, [{ type: 3, sid: 2, updates: [{ regType: 0, regIndex: 0, value: 99n }] }]);
  // after a datapath restart the program is installed again (uid 1 first)
  h.take();
  await h.ready();
  await h.create(1);
  assert.deepEqual(types(h.out), [2, 4]);
});

test('classic style: AlgBase cannot be constructed outside the agent', () => {
  class X extends AlgBase {}
  assert.throws(
    () => new X(),
    (e: unknown) => e instanceof PortusError && e.code === ErrorCodes.ALGORITHM,
  );
});

test('close() calls every flow close hook once and closes the transport', async () => {
  const { h, ev } = setup();
  await h.ready();
  await h.create(1);
  await h.create(2, 'beta');
  await h.agent.close();
  await h.agent.close();
  assert.deepEqual(ev.closed.map((c) => c.sid).sort(), [1, 2]);
});

test('debug: every message in and out is logged, decoded, one line each with a timestamp', async () => {
  const lines: string[] = [];
  const ch = createChannel();
  ch.datapath.onMessage(() => {});
  const ev = events();
  startAgent({
    transport: ch.agent,
    algorithms: [recorder('alpha', { first: P1 }, ev, 'first', (_r, dp) => dp.updateField('Cwnd', 5))],
    debug: true,
    log: createLogger('debug', (l) => lines.push(l)),
  });
  ch.datapath.send(encodeReady(0), 'agent');
  await tick();
  ch.datapath.send(encodeCreate(cinfo(1, 'alpha')), 'agent');
  await tick();
  ch.datapath.send(encodeMeasure(1, 1, [3, 0]), 'agent');
  await tick();
  const ts = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z DEBUG /;
  const io = lines.filter((l) => / (<-|->) /.test(l));
  assert.ok(io.every((l) => ts.test(l)));
  assert.deepEqual(
    io.map((l) => l.replace(ts, '').split(' ').slice(0, 3).join(' ')),
    [
      '<- channel READY',
      '-> channel INSTALL_EXPR',
      '<- channel CREATE',
      '-> channel CHANGE_PROG',
      '<- channel MEASURE',
      '-> channel UPDATE_FIELDS',
    ],
  );
  assert.ok(io.some((l) => l.includes('MEASURE sid=1 uid=1 nf=2 fields=[3 0]')));
});

test('connect(transport, AlgClass): classic entry point on any transport', async () => {
  const { connect } = await import('../../src/agent/index.ts');
  const ch = createChannel();
  const got: Message[] = [];
  ch.datapath.onMessage((b) => got.push(decode(b)));
  class Doubler extends AlgBase {
    override onCreate() {
      this.datapath.install(P3, { Cwnd: Number(this.params.start) });
    }
    override onReport(r: Report) {
      this.datapath.updateField('Cwnd', r.acked * 2);
    }
  }
  const agent = await connect(ch.agent, Doubler, { params: { start: '1000' }, log: recordingLog() });
  ch.datapath.send(encodeCreate(cinfo(4, 'Doubler')), 'agent');
  await tick();
  ch.datapath.send(encodeMeasure(4, 1, [21]), 'agent');
  await tick();
  assert.deepEqual(types(got), [2, 4, 3]);
  assert.deepEqual((got[1] as Extract<Message, { type: 4 }>).updates[0].value, 1000n);
  assert.deepEqual((got[2] as Extract<Message, { type: 3 }>).updates[0].value, 42n);
  await agent.close();
  await assert.rejects(
    connect(ch.agent, {} as never),
    (e: unknown) => e instanceof PortusError && e.code === ErrorCodes.ALGORITHM,
  );
});

test('55: a switch made inside onReport does not make that report stale', async () => {
  const seen: number[] = [];
  const { h } = setup((r, dp) => {
    if (r.programUid === 1) {
      dp.setProgram('second');
      seen.push(r.acked); // still readable: it was current when delivered
    }
  });
  await h.ready();
  await h.create(1);
  await h.measure(1, 1, [77, 0]);
  assert.deepEqual(seen, [77]);
  assert.equal((h.out.at(-1) as Extract<Message, { type: 4 }>).programUid, 2);
});

test('a synchronous transport delivering re-entrantly inside a callback keeps each report intact', async () => {
  const ch = createChannel({ sync: true });
  const seen: string[] = [];
  const alg: Algorithm = {
    name: 'sync',
    datapathPrograms: () => ({ first: P1 }),
    newFlow(dp) {
      dp.setProgram('first');
      return {
        onReport(r) {
          const before = r.acked;
          if (before === 1) dp.setProgram('first', { gain: 2 }); // the peer answers with a report at once
          seen.push(`${before}/${r.acked}`);
        },
      };
    },
  };
  let answered = false;
  ch.datapath.onMessage((b) => {
    const m = decode(b);
    if (m.type === MsgType.CHANGE_PROG && m.updates.length === 1 && !answered) {
      answered = true;
      ch.datapath.send(encodeMeasure(1, 1, [2, 0]), 'agent'); // delivered inside the agent's send
    }
  });
  startAgent({ transport: ch.agent, algorithms: [alg], log: recordingLog() });
  ch.datapath.send(encodeCreate(cinfo(1)), 'agent');
  ch.datapath.send(encodeMeasure(1, 1, [1, 0]), 'agent');
  await tick();
  assert.deepEqual(seen, ['2/2', '1/1']);
});
