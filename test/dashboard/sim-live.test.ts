// `portus sim --live` without a browser: a non-loopback address is refused before the run starts
// (the browser part is in browser.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portus } from '../e2e/helpers.ts';

test('portus sim --live on a non-loopback address is refused without --dashboard-remote', async () => {
  const sim = portus(['sim', '--alg', 'reno', '--duration', '1s', '--no-progress', '--live', '0.0.0.0:0']);
  assert.equal(await sim.exited, 1);
  const err = sim.err.join('\n');
  assert.match(err, /not a loopback address.*--dashboard-remote/s);
  assert.ok(!sim.out.some((l) => /dashboard at|Mbit\/s/.test(l)), sim.out.join('\n'));
});
