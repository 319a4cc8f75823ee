// End to end: `portus run NAME` for each algorithm of the zoo against a separate `portus datapath`
// process over real Unix datagram sockets. Each agent installs its programs, the datapath accepts
// them, reports flow, and the agent's updates (Cwnd, and Rate for the rate-based ones) are applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { events, exitOf, portus, tempDir } from './helpers.ts';

const CASES: { alg: string; params: string[]; rate: boolean; extra: string[] }[] = [
  { alg: 'bbr', params: [], rate: true, extra: [] },
  { alg: 'copa', params: ['--param', 'default_delta=0.25'], rate: true, extra: ['--rtt-step-us', '500'] },
  {
    alg: 'vegas',
    params: ['--param', 'alpha=3', '--param', 'beta=5'],
    rate: false,
    extra: ['--rtt-step-us', '500'],
  },
  { alg: 'nimbus', params: ['--param', 'uest=6000000'], rate: true, extra: [] },
  { alg: 'dctcp', params: ['--param', 'g=0.125'], rate: false, extra: ['--ecn-every', '10'] },
  { alg: 'cubic', params: ['--param', 'hystart=true'], rate: false, extra: ['--rtt-step-us', '500'] },
];

for (const c of CASES) {
  test(`e2e unix: portus run ${c.alg} controls a datapath process`, async () => {
    const { dir, cleanup } = tempDir();
    const A = join(dir, 'agent.sock');
    const D = join(dir, 'dp.sock');
    const ag = portus(['run', c.alg, ...c.params, '--socket', A, '--quiet']);
    try {
      await ag.waitFor(/^portus: running/);
      const dp = portus([
        'datapath',
        '--json',
        '--agent',
        A,
        '--socket',
        D,
        '--flows',
        '1',
        '--rate',
        '1000',
        '--duration',
        '1.5',
        ...c.extra,
      ]);
      assert.equal(await exitOf(dp), 0);
      const evs = events(dp);
      const recv = evs.filter((e) => e.ev === 'recv');
      assert.equal(recv[0]?.type, 'install');
      assert.ok(
        recv.every((e) => e.code === 0 || (e.type === 'update_fields' && e.code === -71)),
        `libccp accepted every message: ${JSON.stringify(recv.filter((e) => e.code !== 0).slice(0, 3))}`,
      );
      assert.ok(
        recv.some((e) => e.type === 'change_prog'),
        'a program was selected',
      );
      assert.ok(recv.filter((e) => e.type === 'update_fields').length > 3, 'the agent answered reports');
      assert.ok(evs.filter((e) => e.ev === 'set_cwnd').length > 0, 'Cwnd updates applied');
      if (c.rate) assert.ok(evs.filter((e) => e.ev === 'set_rate').length > 0, 'Rate updates applied');
      ag.kill('SIGINT');
      assert.equal(await exitOf(ag), 0);
      assert.deepEqual(
        ag.err.filter((l) => / ERROR /.test(l)),
        [],
        'no errors logged by the agent',
      );
    } finally {
      ag.kill('SIGKILL');
      cleanup();
    }
  });
}
