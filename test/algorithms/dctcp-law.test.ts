// DCTCP's control law against the TypeScript datapath with scripted ACKs (RFC 8257): α folds the
// fraction of ECN-marked bytes of each window with gain g; the window's first ECN echo cuts cwnd
// to cwnd·(1 − α/2) once; unmarked windows grow as Reno.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dctcp, type DctcpFlow } from '../../src/algorithms/index.ts';
import type { Algorithm } from '../../src/agent/index.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { steps } from './helpers.ts';

const MSS = 1000;
const FIELDS = ['acked', 'ecn', 'loss', 'timeout', 'rtt', 'early'];

/** DCTCP with its flow objects captured. */
function captured(params: Record<string, string> = {}): { alg: Algorithm; flows: DctcpFlow[] } {
  const base = dctcp(params);
  const flows: DctcpFlow[] = [];
  return {
    flows,
    alg: {
      ...base,
      newFlow(dp, info) {
        const f = base.newFlow(dp, info) as DctcpFlow;
        flows.push(f);
        return f;
      },
    },
  };
}

test('dctcp: α = (1 − g)·α + g·F per window; the first ECE of a window cuts cwnd·(1 − α/2) once', async () => {
  const g = 0.125;
  const { alg, flows } = captured({ g: String(g) });
  const tb = await createTestbed({ algorithm: alg, mss: MSS, rttUs: 10_000 });
  const f = await tb.startFlow();
  await f.rtts(3); // slow start without marks: α decays from its initial 1 by (1 − g) per window
  const before = f.cwnd;
  // a window in which every ACK carries ECE
  await f.rtts(1, { ecnBytes: MSS, ecnPackets: 1 });
  const st = steps(tb, f.sid, FIELDS);
  assert.equal(
    st.filter((s) => s.r.early === 1 && s.cwnd !== undefined).length,
    1,
    'one cut: at the first ECE (a later first ECE falls in the same episode)',
  );
  // replay α over the window reports (early reports carry their bytes into the window)
  let alpha = 1;
  let acked = 0;
  let ecn = 0;
  for (const s of st) {
    acked += s.r.acked!;
    ecn += s.r.ecn!;
    if (s.r.early === 1) {
      if (s.cwnd !== undefined)
        assert.equal(s.cwnd, Math.floor(before * (1 - alpha / 2)), `first ECE: cut with α = ${alpha}`);
      continue;
    }
    alpha = (1 - g) * alpha + g * (acked > 0 ? ecn / acked : 0);
    acked = 0;
    ecn = 0;
  }
  assert.ok(Math.abs(flows[0]!.alpha - alpha) < 1e-12, `α ${flows[0]!.alpha} = replay ${alpha}`);
  // unmarked windows: α decays by (1 − g) each, the window grows again
  const a0 = flows[0]!.alpha;
  const c0 = f.cwnd;
  await f.rtts(4);
  assert.ok(flows[0]!.alpha < a0 * (1 - g), `α decays (${a0} → ${flows[0]!.alpha})`);
  assert.ok(f.cwnd > c0, 'Reno-like growth without marks');
  // half the ACKs of a window marked: the cut uses the current α, and only once in that window
  const a1 = flows[0]!.alpha;
  const c1 = f.cwnd;
  const n0 = steps(tb, f.sid, FIELDS).length;
  for (let i = 0; i < Math.floor(c1 / MSS); i++) {
    await f.ack(
      i % 2 === 0
        ? { ecnBytes: MSS, ecnPackets: 1, advanceUs: 10_000 / (c1 / MSS) }
        : { advanceUs: 10_000 / (c1 / MSS) },
    );
  }
  const later = steps(tb, f.sid, FIELDS).slice(n0);
  const cuts = later.filter((s) => s.r.early === 1 && s.cwnd !== undefined);
  assert.ok(cuts.length >= 1);
  assert.ok(
    Math.abs(cuts[0]!.cwnd! - Math.floor(c1 * (1 - a1 / 2))) <= 1,
    `cut ×${(cuts[0]!.cwnd! / c1).toFixed(3)} = 1 − α/2 = ${1 - a1 / 2}`,
  );
  for (let i = 1; i < cuts.length; i++)
    assert.ok(cuts[i]!.tUs - cuts[i - 1]!.tUs >= 10_000, 'at most one cut per RTT');
  await tb.close();
});

test('dctcp: a loss halves the window once per episode; a timeout restarts from the initial window', async () => {
  const { alg } = captured();
  const tb = await createTestbed({ algorithm: alg, mss: MSS, rttUs: 10_000 });
  const f = await tb.startFlow();
  await f.rtts(4);
  const w = f.cwnd;
  await f.loss();
  await f.ack();
  assert.equal(f.cwnd, Math.floor(w / 2));
  await f.loss({ advanceUs: 1_000 }); // same episode (its RTT sample predates the cut)
  await f.ack();
  assert.equal(f.cwnd, Math.floor(w / 2), 'no second cut in the episode');
  await f.timeout();
  await f.ack();
  assert.equal(f.cwnd, 10 * MSS);
  await tb.close();
});
