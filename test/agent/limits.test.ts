// Bounded state and readable logs (issue 12): flow limits, removal of vanished and silent
// datapaths (close hooks run), rate-limited log lines and exception summaries. In-process
// channels and simulated clocks: nothing here sleeps.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExceptionTally,
  RateLimiter,
  parseLogLevel,
  startAgent,
  type Algorithm,
} from '../../src/agent/index.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import type { Address, ReceiveHandler, Transport } from '../../src/ipc/index.ts';
import { encodeCreate, encodeMeasure, encodeReady } from '../../src/wire/index.ts';
import { recordingLog } from './helpers.ts';

const P = `(def (Report (volatile acked 0)))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))`;

/** An algorithm counting flows created and closed; `throws` makes onReport throw. */
function counting(throws = false) {
  const ev = { created: 0, closed: new Set<string>() };
  const alg: Algorithm = {
    name: 'count',
    datapathPrograms: () => ({ p: P }),
    newFlow(dp, info) {
      ev.created++;
      dp.setProgram('p');
      return {
        onReport() {
          if (throws) throw new Error(`boom in ${info.sockId}`);
        },
        close() {
          ev.closed.add(`${info.sockId}`);
        },
      };
    },
  };
  return { alg, ev };
}

/**
 * An agent transport fed by the test: `deliver(buf, from)` plays a datapath at `from`; sends to an
 * address in `gone` throw the unix transport's ENOENT error; other sends are recorded.
 */
function fakeTransport() {
  let handler: ReceiveHandler | null = null;
  const gone = new Set<string>();
  const sent: Address[] = [];
  const t: Transport = {
    kind: 'test',
    send(_msg: Uint8Array, to: Address) {
      if (gone.has(to)) {
        throw new PortusError(
          ErrorCodes.IPC_SEND,
          `cannot send to ${to}: ENOENT (no socket is bound there: the datapath is gone?)`,
        );
      }
      sent.push(to);
    },
    onMessage(h) {
      handler = h;
    },
    close: () => Promise.resolve(),
  };
  return { t, gone, sent, deliver: (buf: Uint8Array, from: Address) => handler!(Buffer.from(buf), from) };
}

const create = (sid: number) =>
  encodeCreate({ sid, initCwnd: 14480, mss: 1448, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, congAlg: '' });

test('flow limits: CREATEs beyond the per-datapath and total limits are refused, with one rate-limited warning', async () => {
  const { alg, ev } = counting();
  const log = recordingLog();
  const f = fakeTransport();
  const agent = startAgent({
    transport: f.t,
    algorithms: [alg],
    log,
    limits: { maxFlowsPerDatapath: 100, maxFlows: 150, idleTimeoutMs: 0 },
  });
  // one hostile datapath sends 100k CREATEs with distinct sids
  for (let sid = 1; sid <= 100_000; sid++) f.deliver(create(sid), '/dp/hostile');
  assert.equal(agent.stats().flows, 100);
  assert.equal(agent.stats().flowsRefused, 100_000 - 100);
  // a legitimate datapath still gets flows until the total limit
  for (let sid = 1; sid <= 60; sid++) f.deliver(create(sid), '/dp/good');
  assert.equal(agent.stats().flows, 150);
  assert.equal(ev.created, 150);
  const refusals = log.lines.filter((l) => /refused flow/.test(l));
  assert.ok(refusals.length <= 6, refusals.join('\n'));
  assert.ok(log.has('warn', /already has 100 flows \(the per-datapath limit/));
  assert.ok(log.has('warn', /the agent already has 150 flows \(the total limit/));
  // a closed flow frees its place; a re-CREATE of a live sid replaces it (never refused)
  f.deliver(encodeMeasure(1, 0, []), '/dp/good');
  f.deliver(create(61), '/dp/good');
  f.deliver(create(61), '/dp/good');
  assert.equal(agent.stats().flows, 150);
  await agent.close();
  assert.ok(log.has('warn', /more like this \(flow-limit:\/dp\/hostile\) suppressed/));
  assert.equal(ev.closed.size, 100); // sids 1..100 (hostile and good share sids); every flow closed
});

test('a datapath whose socket is gone (ENOENT on send) is removed after a grace period and its flows closed', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const { alg, ev } = counting();
  const log = recordingLog();
  const f = fakeTransport();
  const agent = startAgent({ transport: f.t, algorithms: [alg], log, limits: { idleTimeoutMs: 0 } });
  // 5000 datapaths register and vanish: the INSTALL after READY fails, and each is removed
  for (let i = 0; i < 5000; i++) {
    f.gone.add(`/dp/${i}`);
    f.deliver(encodeReady(i), `/dp/${i}`);
  }
  assert.equal(agent.stats().datapaths, 5000);
  mock.timers.tick(1000);
  assert.equal(agent.stats().datapaths, 0);
  assert.equal(agent.stats().datapathsPruned, 5000);
  assert.ok(log.lines.length < 30, `${log.lines.length} log lines for 5000 vanished datapaths`);
  // a datapath with live flows vanishes: the next send fails and the flows' close hooks run
  f.deliver(encodeReady(1), '/dp/live');
  for (let sid = 1; sid <= 3; sid++) f.deliver(create(sid), '/dp/live');
  f.deliver(create(1), '/dp/other');
  assert.equal(agent.stats().flows, 4);
  f.gone.add('/dp/live');
  f.deliver(create(4), '/dp/live'); // CHANGE_PROG to it fails
  f.deliver(encodeMeasure(4, 0, []), '/dp/live'); // its close, queued before it went, still counts
  mock.timers.tick(1000);
  assert.equal(agent.stats().datapaths, 1);
  assert.equal(agent.stats().flows, 1, 'only /dp/other keeps its flow');
  assert.deepEqual([...ev.closed].sort(), ['1', '2', '3', '4']);
  assert.ok(log.has('debug', /flow 4 \(\/dp\/live\) closed by the datapath/));
  assert.equal(agent.stats().datapathsPruned, 5001);
  await agent.close();
  // removals are one kind of line: a few in full, the rest counted (the last one is /dp/live's)
  assert.ok(
    log.has(
      'info',
      /datapath \/dp\/live removed \(its socket is gone\); closed its 3 flows \[\d+ more like this/,
    ),
  );
});

test('a silent datapath: removed past the idle timeout if it has no flows, else probed, and removed if the probe finds it gone', async () => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  try {
    let nowUs = 1;
    const { alg } = counting();
    const f = fakeTransport();
    const agent = startAgent({
      transport: f.t,
      algorithms: [alg],
      log: recordingLog(),
      now: () => nowUs,
      limits: { idleTimeoutMs: 1000 },
    });
    f.deliver(encodeReady(1), '/dp/idle');
    f.deliver(encodeReady(2), '/dp/flows');
    f.deliver(create(1), '/dp/flows');
    f.deliver(encodeReady(3), '/dp/chatty');
    for (let step = 1; step <= 6; step++) {
      nowUs += 500_000;
      f.deliver(encodeMeasure(9, 1, [1]), '/dp/chatty'); // unknown flow, but the datapath talks
      mock.timers.tick(500);
    }
    assert.equal(agent.stats().datapaths, 2);
    assert.equal(agent.stats().datapathsPruned, 1);
    assert.equal(agent.stats().flows, 1);
    // the silent datapath with a live flow was probed (zero-update UPDATE_FIELDS), and is still there
    assert.ok(f.sent.filter((a) => a === '/dp/flows').length >= 3);
    // killed without closing its flow: the next probe finds its socket gone; it is removed after the grace
    f.gone.add('/dp/flows');
    nowUs += 2_000_000;
    f.deliver(encodeMeasure(9, 1, [1]), '/dp/chatty');
    mock.timers.tick(500);
    f.deliver(encodeMeasure(9, 1, [1]), '/dp/chatty');
    mock.timers.tick(1000);
    assert.equal(agent.stats().datapaths, 1);
    assert.equal(agent.stats().flows, 0);
    await agent.close();
  } finally {
    mock.timers.reset();
  }
});

test('RateLimiter: the first lines of a kind in full, then one summary per interval with a count', () => {
  const log = recordingLog();
  let now = 0;
  const rl = new RateLimiter(log, { burst: 3, intervalMs: 10_000, now: () => now, timer: false });
  for (let i = 0; i < 175_000; i++) rl.warn('send:/x', `send to /x failed (${i})`);
  rl.warn('other', 'a different kind');
  assert.equal(log.lines.length, 4);
  now = 10_000;
  rl.flush();
  assert.equal(log.lines.length, 5);
  assert.match(
    log.lines[4]!,
    /^warn send to \/x failed \(174999\) \[174997 more like this \(send:\/x\) suppressed in the last 10 s\]$/,
  );
  // a new interval starts with a fresh burst
  rl.warn('send:/x', 'again');
  assert.equal(log.lines.at(-1), 'warn again');
  // kinds are bounded: a peer inventing keys shares one bucket
  const rl2 = new RateLimiter(log, { maxKeys: 4, now: () => now, timer: false });
  const before = log.lines.length;
  for (let i = 0; i < 10_000; i++) rl2.warn(`malformed:/peer/${i}`, `bad datagram from /peer/${i}`);
  assert.ok(log.lines.length - before <= 4 * 3 + 3, `${log.lines.length - before} lines`);
  rl2.close();
  assert.ok(log.lines.some((l) => /more like this \(\(other\)\) suppressed/.test(l)));
});

test('an onReport that throws on every report: the first stack trace in full, then counts per flow', async () => {
  const { alg } = counting(true);
  const log = recordingLog();
  const f = fakeTransport();
  const agent = startAgent({
    transport: f.t,
    algorithms: [alg],
    log,
    limits: { idleTimeoutMs: 0 },
    logIntervalMs: 3_600_000, // no summary falls due while the test runs, however slow the machine
  });
  f.deliver(encodeReady(1), '/dp/a');
  f.deliver(create(1), '/dp/a');
  f.deliver(create(2), '/dp/a');
  for (let i = 0; i < 5000; i++) {
    f.deliver(encodeMeasure(1, 1, [1]), '/dp/a');
    if (i % 2 === 0) f.deliver(encodeMeasure(2, 1, [1]), '/dp/a');
  }
  assert.equal(agent.stats().errors, 7500);
  const errors = log.lines.filter((l) => l.startsWith('error'));
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0]!, /flow 1 \(\/dp\/a\): onReport threw: Error: boom in 1\n\s+at /);
  await agent.close();
  const summary = log.lines.filter((l) => l.startsWith('error')).at(-1)!;
  assert.match(
    summary,
    /threw 7499 more times .*\(flow 1 \(\/dp\/a\): 4999, flow 2 \(\/dp\/a\): 2500\); last: onReport threw: Error: boom in/,
  );
  const t = new ExceptionTally(log, { timer: false });
  t.flush(); // nothing recorded: nothing written
});

test('log level: the flag wins over PORTUS_LOG, which wins over the default; unknown names are refused', () => {
  assert.equal(parseLogLevel(undefined, 'info', undefined), 'info');
  assert.equal(parseLogLevel(undefined, 'info', 'WARN'), 'warn');
  assert.equal(parseLogLevel('error', 'info', 'debug'), 'error');
  assert.equal(parseLogLevel('silent', 'info', undefined), 'silent');
  assert.equal(parseLogLevel('loud', 'info', undefined), null);
});
