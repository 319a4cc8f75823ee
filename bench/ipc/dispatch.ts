/**
 * The agent's hot path in isolation: MEASURE in → algorithm → UPDATE_FIELDS out, in one process
 * through a zero-copy in-process transport (no IPC, no copies), so that what is measured is the
 * runtime itself: nanoseconds per report and heap bytes allocated per report (with `--expose-gc`).
 * Baseline in the same run: the same loop calling the algorithm object directly (no dispatch, no
 * decoding, no encoding).
 *
 * Run: `node --expose-gc --import tsx bench/ipc/dispatch.ts [reports]`.
 * @module
 */
import {
  startAgent,
  silentLogger,
  type Algorithm,
  type DatapathHandle,
  type Report,
} from '../../src/agent/index.ts';
import type { ReceiveHandler, Transport } from '../../src/ipc/index.ts';
import { encodeCreate, encodeMeasure, encodeReady } from '../../src/wire/index.ts';

const N = Number(process.argv[2] ?? 2_000_000);
const FLOWS = 1000;
const gc = (globalThis as { gc?: () => void }).gc;

const PROGRAM = `(def (Report (volatile acked 0) (volatile sacked 0) (volatile loss 0) (volatile timeout false)
  (volatile rtt 0) (volatile inflight 0)))
(when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))`;

/** aimd's law, as a portus-style algorithm. */
const alg: Algorithm = {
  name: 'bench',
  datapathPrograms: () => ({ p: PROGRAM }),
  newFlow(dp: DatapathHandle) {
    let cwnd = 14480;
    dp.setProgram('p', { Cwnd: cwnd });
    return {
      onReport(r: Report) {
        if (r.loss > 0 || r.sacked > 0) cwnd /= 2;
        else cwnd += (1448 * r.acked) / cwnd;
        cwnd = Math.max(cwnd, 14480);
        dp.updateField('Cwnd', Math.floor(cwnd));
      },
    };
  },
};

let handler: ReceiveHandler = () => {};
let sent = 0;
const transport: Transport = {
  kind: 'bench',
  send() {
    sent++;
  },
  onMessage(h) {
    handler = h;
  },
  close: async () => {},
};
startAgent({ transport, algorithms: [alg], log: silentLogger });
handler(encodeReady(0), 'dp');
for (let sid = 1; sid <= FLOWS; sid++) {
  handler(
    encodeCreate({
      sid,
      initCwnd: 14480,
      mss: 1448,
      srcIp: 0,
      srcPort: 0,
      dstIp: 0,
      dstPort: 0,
      congAlg: '',
    }),
    'dp',
  );
}
const msgs: Buffer[] = [];
for (let sid = 1; sid <= FLOWS; sid++) msgs.push(encodeMeasure(sid, 1, [1448n, 0n, 0n, 0n, 10000n, 10n]));

function run(n: number): { ns: number; bytes: number } {
  gc?.();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) handler(msgs[i % FLOWS], 'dp');
  const t1 = process.hrtime.bigint();
  const h1 = process.memoryUsage().heapUsed;
  return { ns: Number(t1 - t0) / n, bytes: (h1 - h0) / n };
}

run(200_000); // warm-up
const small = run(N / 4);
const before = sent;
const r = run(N);
if (sent - before !== N) throw new Error(`expected ${N} updates, got ${sent - before}`);
// Heap growth has a fixed part (JIT, inline caches); the marginal bytes per extra report is
// what the runtime allocates per message.
const marginal = (r.bytes * N - (small.bytes * N) / 4) / (N - N / 4);

// Baseline: the algorithm's arithmetic alone on plain numbers.
let cw = 14480;
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  cw += (1448 * 1448) / cw;
  cw = Math.max(cw, 14480);
  if (cw > 1e9) cw = 14480;
}
const base = Number(process.hrtime.bigint() - t0) / N;

console.log(`bench/ipc/dispatch — agent hot path in process (${FLOWS} flows, ${N} reports)`);
console.log(
  `MEASURE -> onReport -> UPDATE_FIELDS: ${r.ns.toFixed(0)} ns/report, ` +
    (gc
      ? `${marginal.toFixed(3)} heap bytes per additional report (total growth ${((r.bytes * N) / 1e6).toFixed(1)} MB)`
      : 'heap bytes: run with --expose-gc'),
);
console.log(`baseline (the law alone): ${base.toFixed(1)} ns/report (checksum ${Math.round(cw)})`);
