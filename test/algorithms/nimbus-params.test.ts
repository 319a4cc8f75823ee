// Nimbus' report interval (`report_interval_ms`): the program's `reportTime` field, sent with the
// CHANGE_PROG only when it differs from the program's own 5 ms; a datapath that cannot take 200
// reports per second per flow (the kernel suite's emulated VM) runs Nimbus with a longer one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nimbus, nimbusConfig } from '../../src/algorithms/index.ts';
import { createTestbed } from '../../src/testing/index.ts';
import { changeProgs, steps } from './helpers.ts';

async function reports(params: Record<string, string>) {
  const tb = await createTestbed({ algorithm: nimbus(params), mss: 1000, rttUs: 40_000 });
  const f = await tb.startFlow();
  await f.rtts(10);
  return { n: steps(tb, f.sid, ['acked']).length, prog: changeProgs(tb, f.sid)[0]! };
}

test('nimbus report_interval_ms: fewer reports, reportTime in the CHANGE_PROG; default unchanged', async () => {
  const def = await reports({});
  const slow = await reports({ report_interval_ms: '40' });
  assert.equal(def.prog.updates.length, 1, 'default: only Cwnd, as before');
  assert.ok(
    slow.prog.updates.some((u) => Number(u.value) === 40_000),
    'reportTime = 40 000 µs sent with the program',
  );
  assert.ok(slow.n * 3 < def.n, `40 ms: ${slow.n} reports, 5 ms: ${def.n}`);
  assert.ok(slow.n >= 5, `40 ms over 10 RTTs of 40 ms: ${slow.n} reports`);
  assert.throws(() => nimbusConfig({ report_interval_ms: '0' }), /report_interval_ms/);
});

test('nimbus: a report after a long stall runs the elasticity detector once, not once per 10 ms missed', async () => {
  let estimates = 0;
  const alg = nimbus({ uest: '625000' }, { onElasticity: () => estimates++ });
  const tb = await createTestbed({ algorithm: alg, mss: 1000, rttUs: 40_000 });
  const f = await tb.startFlow();
  await f.acks(1200, { advanceUs: 10_000 }); // 12 s, a report per ACK: detection runs from 10 s on
  assert.ok(estimates > 0, 'detection started');
  const before = estimates;
  const t0 = process.hrtime.bigint();
  await f.acks(1, { advanceUs: 60_000_000 }); // a minute without ACKs (an idle connection)
  await f.acks(1);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(estimates - before <= 2, `${estimates - before} estimates for the stall (6000 grid points)`);
  assert.ok(ms < 2000, `the stalled report took ${ms.toFixed(0)} ms`);
});
