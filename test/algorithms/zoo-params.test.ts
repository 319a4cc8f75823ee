// The zoo's registry and typed --param validation: every new built-in is available by name, takes
// its documented parameters, and rejects unknown names and bad values with a clear ALGORITHM error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { algorithmNames, getAlgorithm } from '../../src/algorithms/index.ts';
import * as pkg from '../../src/index.ts';
import { isPortusError } from '../../src/errors.ts';

const ZOO = ['bbr', 'copa', 'vegas', 'nimbus', 'dctcp'];

test('zoo: every algorithm is a built-in and is exported from the package', () => {
  for (const n of ZOO) {
    assert.ok(algorithmNames().includes(n), n);
    assert.equal(getAlgorithm(n).name, n);
    assert.equal(typeof (pkg as Record<string, unknown>)[n], 'function', `portus exports ${n}`);
  }
});

test('zoo: parameters are typed and validated', () => {
  const good: Record<string, Record<string, string>> = {
    bbr: { probe_rtt_interval: '5', startup: 'false', bw_window_rtts: '0' },
    copa: { default_delta: '0.1', init_cwnd: '15000', mode: 'default', self_drain_guard: 'false' },
    vegas: { alpha: '3', beta: '6', gamma: '2', slow_start: 'false', last_rtt: 'true' },
    nimbus: {
      use_switching: 'true',
      uest: '6000000',
      flow_mode: 'delay',
      delay_mode: 'Vegas',
      xtcp_flows: '4',
    },
    dctcp: { g: '0.125', alpha_init: '0', clamp_alpha_on_loss: 'true' },
  };
  for (const [n, p] of Object.entries(good)) assert.equal(getAlgorithm(n, p).name, n);
  const bad: [string, Record<string, string>, RegExp][] = [
    ['bbr', { probe_rtt_interval: '0' }, /probe_rtt_interval must be a number in \(0, 3600\]/],
    ['bbr', { startup: 'maybe' }, /startup must be true or false/],
    ['copa', { default_delta: '1.5' }, /default_delta must be a number in \(0, 1\]/],
    ['copa', { mode: 'fast' }, /mode must be one of auto, default/],
    ['vegas', { alpha: '4', beta: '2' }, /beta \(2\) must be above alpha \(4\)/],
    ['vegas', { alpha: 'two' }, /alpha must be a number/],
    ['nimbus', { flow_mode: 'BBR' }, /flow_mode must be one of XTCP, Delay/],
    ['nimbus', { loss_mode: 'Reno' }, /loss_mode must be one of MulTCP, Cubic/],
    ['dctcp', { g: '0' }, /g must be a number in \(0, 1\]/],
    ['dctcp', { K: '20' }, /unknown parameter 'K' \(accepted: g, alpha_init, clamp_alpha_on_loss\)/],
  ];
  for (const [n, p, re] of bad) {
    assert.throws(
      () => getAlgorithm(n, p),
      (e: unknown) => isPortusError(e) && e.code === 'ERR_PORTUS_ALGORITHM' && re.test(e.message),
      `${n} ${JSON.stringify(p)}`,
    );
  }
});

test('zoo: portus sim --alg NAME --param k=v runs each one; a bad value exits 1 with the message', () => {
  const r = spawnSync(
    process.execPath,
    [
      'bin/portus.js',
      'sim',
      ...ZOO.flatMap((n) => ['--alg', n]),
      '--param',
      'vegas:alpha=3',
      '--ecn-threshold',
      '20pkts',
      '--duration',
      '3s',
      '--json',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { summary: { flows: { alg: string; throughputBps: number }[] } };
  assert.deepEqual(
    out.summary.flows.map((f) => f.alg),
    ZOO,
  );
  for (const f of out.summary.flows) assert.ok(f.throughputBps > 0, `${f.alg} sent`);
  const bad = spawnSync(
    process.execPath,
    ['bin/portus.js', 'sim', '--alg', 'copa', '--param', 'default_delta=2'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /copa: parameter default_delta must be a number in \(0, 1\], got '2'/);
});
