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
