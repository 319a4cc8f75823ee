// The kernel rig's parsers and checks, on recorded snippets of what the VM produces (the rig
// itself runs with `npm run test:kernel`; these run in the ordinary `npm test`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCwndFollows, assertPacingFollows, kernelReductions, reductions } from './rig/checks.ts';
import { newcArchive } from './rig/cpio.ts';
import { parseAgentLog, parseIperf, parseProcTcp, parseSs, portFromWire, tcDrops } from './rig/results.ts';

const LOG = `portus: running 'reno' on netlink:0 (programs 1=DatapathIntervalRTTProg); Ctrl-C to stop
2026-12-01T02:10:03.546Z DEBUG <- netlink CREATE sid=1 initCwnd=14480 mss=1448 src=16845066:45285 dst=33687818:20756 alg="reno"
2026-12-01T02:10:04.337Z DEBUG -> netlink CHANGE_PROG sid=1 uid=1 [(2,4)=14480]
2026-12-01T02:10:04.400Z DEBUG <- netlink MEASURE sid=1 uid=1 nf=6 fields=[1448 0 0 0 20000 10]
2026-12-01T02:10:04.500Z DEBUG -> netlink UPDATE_FIELDS sid=1 [(2,4)=28960]
2026-12-01T02:10:05.000Z DEBUG -> netlink UPDATE_FIELDS sid=1 [(2,4)=57920 (2,5)=375000]
2026-12-01T02:10:05.500Z DEBUG -> netlink UPDATE_FIELDS sid=1 [(2,4)=28960]
2026-12-01T02:10:05.600Z DEBUG ignoring MEASURE for unknown flow 7 (netlink)
2026-12-01T02:10:06.000Z WARN  something odd
2026-12-01T02:10:09.226Z DEBUG flow 1 (netlink) closed by the datapath
`;

test('parseAgentLog: a sid reused by a later flow is a different flow', () => {
  const a = parseAgentLog(
    LOG +
      `2026-12-01T02:10:10.000Z DEBUG <- netlink CREATE sid=1 initCwnd=14480 mss=1448 src=16845066:45541 dst=33687818:20756 alg="reno"
2026-12-01T02:10:10.100Z DEBUG -> netlink UPDATE_FIELDS sid=1 [(2,4)=99999]
`,
  );
  assert.equal(a.created.length, 2);
  assert.deepEqual(
    a.cwnd.get(1)?.map((s) => s.value),
    [99999],
  );
  assert.equal(a.cwnd.get(0)?.length, 4);
  assert.deepEqual([...a.closed], [0]);
});

test('parseAgentLog: CREATE ports from network byte order, reports, Cwnd/Rate sent, closes', () => {
  const a = parseAgentLog(LOG);
  assert.equal(portFromWire(45285), 58800);
  assert.deepEqual(
    a.created.map((c) => [c.sid, c.mss, c.srcPort, c.dstPort]),
    [[1, 1448, 58800, 5201]],
  );
  assert.equal(a.reports.get(0), 1);
  assert.equal(a.sentToSid.get(1), 4);
  assert.deepEqual(
    a.cwnd.get(0)?.map((s) => s.value),
    [14480, 28960, 57920, 28960],
  );
  assert.deepEqual(
    a.rate.get(0)?.map((s) => s.value),
    [375000],
  );
  assert.deepEqual([...a.closed], [0]);
  assert.equal(a.unknown.get(7), 1);
  assert.equal(a.problems.length, 1);
  assert.equal(reductions(a, a.created[0], 0.75), 1);
});

test('parseAgentLog: every register update, report fields and close times per flow', () => {
  const a = parseAgentLog(
    LOG.replace('[(2,4)=28960]\n', '[(2,4)=28960 (1,3)=470000]\n').replace(
      'nf=6 fields=[1448',
      'nf=6 fields=[1449',
    ),
  );
  assert.deepEqual(
    a.updates.get(0)?.map((u) => `${u.reg}=${u.value}`),
    ['2,4=14480', '2,4=28960', '1,3=470000', '2,4=57920', '2,5=375000', '2,4=28960'],
  );
  assert.deepEqual(a.measures.get(0), [
    { t: Date.parse('2026-12-01T02:10:04.400Z') / 1000, uid: 1, fields: [1449, 0, 0, 0, 20000, 10] },
  ]);
  assert.equal(a.closedAt.get(0), Date.parse('2026-12-01T02:10:09.226Z') / 1000);
});

test('assertPacingFollows: leading kernel rates skipped, then only rates the agent set', () => {
  const ss = (rates: number[]): string =>
    rates
      .map(
        (r, i) => `@ ${100 + i}
ESTAB 0 0 10.9.1.1:58800 10.9.2.2:5201
\t ccp mss:1448 cwnd:20${Number.isNaN(r) ? '' : ` pacing_rate ${r}bps`}`,
      )
      .join('\n');
  const f = (rates: number[]) => ({
    name: 'p',
    iperf: { localPort: 58800, receivedBps: 0, retransmits: 0, seconds: 0, intervalsBps: [] },
    ss: parseSs(ss(rates)),
    proc: [],
    drops: 0,
    start: 100,
    end: 110,
  });
  // bytes/s the agent sent at t=101 and t=103
  const sent = [
    { t: 101, sid: 1, value: 375_000 },
    { t: 103, sid: 1, value: 500_000 },
  ];
  const good = [NaN, 1_234_567, 3e6, 3e6, 4e6, 4e6];
  assert.deepEqual(assertPacingFollows(f(good), sent), { matched: 4, distinct: 2, skipped: 2 });
  // a rate sent after the next sample's time (ss had read the socket by then) does not count
  assert.throws(
    () =>
      assertPacingFollows(f([NaN, 3e6, 4e6, 3e6, 3e6]), [sent[0]!, { ...sent[1]!, t: 103.5 }], {
        minDistinct: 1,
        slackS: 0.5,
      }),
    /had not set/,
  );
  // the kernel overwriting the agent's rate
  assert.throws(() => assertPacingFollows(f([3e6, 3e6, 2e6, 3e6]), sent, { minDistinct: 1 }), /had not set/);
  assert.throws(() => assertPacingFollows(f([NaN, NaN, 7e6, 7e6]), sent), /0 ss samples/);
  assert.throws(() => assertPacingFollows(f([3e6, 3e6, 3e6, 3e6, 3e6]), sent), /only 1 distinct/);
  // too few samples to ask for a change (a starved VM)
  assert.equal(assertPacingFollows(f([NaN, 3e6, 3e6]), sent).matched, 2);
});

const SS = `@ 1796091004.1
ESTAB 0      118736 10.9.1.1:58800 10.9.2.2:5201
	 ccp wscale:7,7 rto:240 rtt:41.2/2.1 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:20 bytes_acked:1000 pacing_rate 3Mbps delivery_rate 2.9Mbps
ESTAB 0      0      10.9.1.1:58790 10.9.2.2:5201
	 ccp wscale:7,7 rto:204 rtt:1.5/0.7 mss:1448 cwnd:10 bytes_acked:120
@ 1796091004.6
ESTAB 0      118736 10.9.1.1:58800 10.9.2.2:5201
	 ccp wscale:7,7 rto:240 rtt:41.2/2.1 mss:1448 cwnd:40 bytes_acked:9000 pacing_rate 2.5Mbps
@ 1796091005.7
ESTAB 0      118736 10.9.1.1:58800 10.9.2.2:5201
	 ccp wscale:7,7 rto:240 rtt:41.2/2.1 mss:1448 cwnd:20 bytes_acked:19000 pacing_rate 12.4Kbps
`;

test('parseSs: per-socket samples with cc, cwnd, mss, pacing rate, rtt, bytes acked', () => {
  const s = parseSs(SS);
  assert.equal(s.length, 4);
  assert.deepEqual(
    [s[0].t, s[0].localPort, s[0].cc, s[0].cwnd, s[0].mss, s[0].pacingRate, s[0].rttMs, s[0].bytesAcked],
    [1796091004.1, 58800, 'ccp', 20, 1448, 3e6, 41.2, 1000],
  );
  assert.equal(s[1].localPort, 58790);
  assert.ok(Number.isNaN(s[1].pacingRate));
  assert.equal(s[2].pacingRate, 2.5e6);
  assert.equal(s[3].pacingRate, 12400);
  assert.equal(
    kernelReductions(
      s.filter((x) => x.localPort === 58800),
      0.75,
    ),
    1,
  );
});

test('assertCwndFollows: passes when ss tracks the agent, fails when it does not', () => {
  const t0 = Date.parse('2026-12-01T02:10:04.337Z') / 1000;
  const log = parseAgentLog(LOG);
  const mk = (dt: number, cwnd: number) => ({
    t: t0 + dt,
    localPort: 1,
    peerPort: 2,
    cc: 'ccp',
    cwnd,
    mss: 1448,
    pacingRate: NaN,
    rttMs: 40,
    bytesAcked: 0,
  });
  // Agent: 10 pkts @0, 20 @0.16, 40 @0.66, 20 @1.16 (in packets of 1448).
  const good = [mk(0.6, 20), mk(0.9, 40), mk(1.0, 40), mk(1.7, 20), mk(1.8, 20), mk(2.5, 20)];
  const c = log.created[0];
  const r = assertCwndFollows(log, c, good, { minSamples: 5, minDistinct: 2 });
  assert.equal(r.matched, r.total);
  const bad = good.map((s) => ({ ...s, cwnd: 33 }));
  // Values the agent sent, but in the wrong order (its first 10 packets after its 40): 1 match.
  const reordered = [mk(1.7, 40), mk(1.8, 10), mk(1.9, 10), mk(2.0, 10), mk(2.1, 10), mk(2.2, 10)];
  assert.throws(() => assertCwndFollows(log, c, reordered, { minSamples: 5, minDistinct: 1 }), /in 1\/6/);
  // The kernel holding an older value through a stall still matches (updates apply on ACKs).
  const stalled = [mk(0.6, 20), mk(1.0, 20), mk(1.4, 20), mk(2.0, 40), mk(2.5, 20)];
  assert.equal(assertCwndFollows(log, c, stalled, { minSamples: 5, minDistinct: 2 }).matched, 5);
  assert.throws(
    () => assertCwndFollows(log, c, bad, { minSamples: 5, minDistinct: 2 }),
    /matched the agent's in 0\//,
  );
  assert.throws(() => assertCwndFollows(log, c, good.slice(0, 2)), /only 2 cwnd samples/);
  assert.throws(() => assertCwndFollows(log, { ...c, id: 9 }, good), /sent no Cwnd/);
  // Dense samples carry no mss: the CREATE's is used.
  const noMss = good.map((s) => ({ ...s, mss: NaN }));
  assert.equal(assertCwndFollows(log, c, noMss, { minSamples: 5, minDistinct: 2 }).matched, good.length);
});

test('parseProcTcp: established sockets from the dense sampler, ports from hex', () => {
  const s = parseProcTcp(`@ 12.5
0101090A:9AF0 0202090A:1451 01 23
0101090A:9AF4 0202090A:1451 06 10
@ 12.55
0101090A:9AF0 0202090A:1451 01 11
`);
  assert.deepEqual(
    s.map((x) => [x.t, x.localPort, x.peerPort, x.cwnd]),
    [
      [12.5, 0x9af0, 5201, 23],
      [12.55, 0x9af0, 5201, 11],
    ],
  );
});

test('parseIperf and tcDrops: goodput excluding omitted seconds, retransmits, queue drops', () => {
  const j = JSON.stringify({
    start: { connected: [{ local_port: 58800 }] },
    intervals: [{ sum: { bits_per_second: 9e6, omitted: true } }, { sum: { bits_per_second: 4.6e6 } }],
    end: { sum_received: { bits_per_second: 4.6e6, seconds: 5 }, sum_sent: { retransmits: 12 } },
  });
  const r = parseIperf(j);
  assert.deepEqual([r.localPort, r.receivedBps, r.retransmits, r.intervalsBps], [58800, 4.6e6, 12, [4.6e6]]);
  assert.equal(parseIperf('iperf3: error').error, 'no JSON');
  const tc = `qdisc netem 1: root refcnt 2 limit 100000 loss 1%
 Sent 100 bytes 10 pkt (dropped 7, overlimits 0 requeues 0)
qdisc tbf 10: parent 1:1 rate 5Mbit burst 3028b lat 0us
 Sent 90 bytes 9 pkt (dropped 3, overlimits 50 requeues 0)`;
  assert.equal(tcDrops(tc), 10);
});

test('newcArchive: headers, names and data 4-byte aligned, trailer last', () => {
  const a = newcArchive([
    { path: 'bin', mode: 0o40755 },
    { path: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\n') },
  ]);
  assert.equal(a.length % 4, 0);
  assert.equal(a.subarray(0, 6).toString(), '070701');
  const s = a.toString('latin1');
  assert.ok(s.includes('init\0'));
  assert.ok(s.includes('#!/bin/sh\n'));
  assert.ok(s.includes('TRAILER!!!\0'));
  // The data of 'init' starts on a 4-byte boundary.
  assert.equal(s.indexOf('#!/bin/sh') % 4, 0);
});
