// Runs that never mislead: algorithm failures fail the run, bare numbers need units, limits are
// checked before allocating, errors never quote the files they read, slot shortages are totalled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlgorithmFailedError,
  DATAPATH_SLOTS,
  loadScenario,
  loadTrace,
  parseRate,
  parseSize,
  parseTime,
  resolveScenario,
  runSimulation,
  type Scenario,
} from '../../src/sim/index.ts';
import { isPortusError } from '../../src/errors.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portus.js');
const FIX = join(import.meta.dirname, 'fixtures');

function portus(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const simError = (re: RegExp) => (e: unknown) =>
  isPortusError(e) && e.code === 'ERR_PORTUS_SIM_CONFIG' && re.test(e.message);

test('an algorithm that throws fails the run: exit 1, flow, time, file:line', () => {
  const r = portus(['sim', '--alg', join(FIX, 'throws.ts'), '--duration', '3s']);
  assert.equal(r.code, 1, r.out);
  assert.equal(r.out, '');
  assert.match(r.err, /flow 0 \(thrower\) at 1\.\d{3} s: onReport failed: Error: boom at report 21/);
  assert.match(r.err, /fixtures\/throws\.ts:14:\d+\)/);
  assert.match(r.err, /--keep-going/);
});

test('a classic install() that does not compile fails the run with the program position', () => {
  const r = portus(['sim', '--alg', join(FIX, 'bad-install.ts'), '--duration', '2s']);
  assert.equal(r.code, 1, r.out);
  assert.match(
    r.err,
    /flow 0 \(bad-install\) at 0\.000 s: newFlow failed: datapath program does not compile: 2:1:/,
  );
  assert.match(r.err, /fixtures\/bad-install\.ts:7:\d+\)/);
});

test('--keep-going continues and counts the errors per flow', () => {
  const r = portus([
    'sim',
    '--alg',
    join(FIX, 'throws.ts'),
    '--alg',
    'reno',
    '--duration',
    '2s',
    '--keep-going',
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, / errors\n/);
  assert.match(r.out, /^0\s+thrower\s.*\s[1-9][0-9]*$/m); // 20 reports fine, then one error per report
  assert.match(r.out, /^1\s+reno\s.*\s0$/m);
  assert.match(r.out, /algorithm errors: \d+ \(kept going\); first: flow 0 \(thrower\)/);
});

test('runSimulation throws AlgorithmFailedError with the failure, unless keepGoing', async () => {
  const { default: thrower } = (await import('./fixtures/throws.ts')) as {
    default: import('../../src/agent/index.ts').Algorithm;
  };
  const sc = resolveScenario({ flows: [{ alg: 'thrower' }], duration: '2s' });
  await assert.rejects(runSimulation(sc, { algorithms: [thrower] }), (e: unknown) => {
    assert.ok(e instanceof AlgorithmFailedError);
    assert.equal(e.failure.flow, 0);
    assert.equal(e.failure.where, 'onReport');
    assert.ok(e.failure.timeUs > 1e6 && e.failure.timeUs < 1.5e6);
    return true;
  });
  const kept = await runSimulation(sc, { algorithms: [thrower], keepGoing: true });
  assert.ok(kept.summary.flows[0]!.algorithmErrors > 10);
  assert.equal(kept.failures[0]!.flow, 0);
});

test('bare numbers for a rate, time or size are errors that suggest the unit', () => {
  assert.throws(() => parseRate('48'), simError(/invalid rate "48": a rate needs a unit, e\.g\. 48mbps/));
  assert.throws(() => parseRate(48), simError(/48mbps/));
  assert.throws(
    () => parseTime('50'),
    simError(/invalid time "50": a time needs a unit, e\.g\. 50ms or 50s/),
  );
  assert.throws(() => parseTime(1.5), simError(/1\.5ms or 1\.5s/));
  assert.throws(() => parseSize('300'), simError(/a size needs a unit, e\.g\. 300b \(bytes\), 300pkts/));
  assert.equal(parseTime(0), 0);
  assert.equal(parseTime('0'), 0);
  assert.deepEqual(parseSize(0), { bytes: 0 });
  assert.deepEqual(parseSize('1500b'), { bytes: 1500 });
  const cli = portus(['sim', '--rtt', '50']);
  assert.equal(cli.code, 1);
  assert.match(cli.err, /invalid time "50".*50ms/);
  const link = portus(['sim', '--link', '48']);
  assert.equal(link.code, 1);
  assert.match(link.err, /invalid rate "48".*48mbps/); // not the buffer
});

test('a too-small BDP buffer names the link and RTT it came from', () => {
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic' }], link: '100kbps', rtt: '10ms' }),
    simError(/buffer of 125 bytes \(1bdp of link 100\.0 kbit\/s × rtt 10 ms\) cannot hold/),
  );
});

test('the summary states each flow RTT, start and stop, and the link and buffer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-honest-'));
  try {
    const f = join(dir, 's.json');
    const sc: Scenario = {
      link: '20mbps',
      duration: '3s',
      flows: [
        { alg: 'reno', rtt: '30ms' },
        { alg: 'cubic', rtt: '80ms', start: '1s', stop: '2.5s' },
      ],
    };
    writeFileSync(f, JSON.stringify(sc));
    const r = portus(['sim', f]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /20\.00 Mbit\/s, buffer 125\.0 kB \(1\.00 BDP\), 3\.0 s simulated/);
    assert.match(r.out, /base rtt\s+start\s+stop/);
    assert.match(r.out, /^0\s+reno\s+30 ms\s+0 s\s+end\s/m);
    assert.match(r.out, /^1\s+cubic\s+80 ms\s+1 s\s+2\.5 s\s/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('limits are checked before allocating: huge counts, durations, late starts', () => {
  const t0 = performance.now();
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic', count: 1e9 }] }),
    simError(/1000000000 flows is above the limit of 10000/),
  );
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic' }], duration: '1e308s' }),
    simError(/invalid time "1e308s": too large/),
  );
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic' }], duration: '2days' }),
    simError(/invalid time/),
  );
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic' }], duration: '1000000s' }),
    simError(/above the limit of 86400 s/),
  );
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic', start: '40s' }], duration: '30s' }),
    simError(/flows\[0\] \(flow 0\) starts at 40 s, at or after the end of the run \(duration 30 s\)/),
  );
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic', count: 4, stagger: '10s' }], duration: '30s' }),
    simError(/flows\[0\] #3 \(flow 3\) starts at 30 s/),
  );
  assert.throws(
    () => resolveScenario({ flows: [{ alg: 'cubic' }], duration: '1h', sampleInterval: '1us' }),
    simError(/more than 1000000 samples/),
  );
  assert.ok(performance.now() - t0 < 2000);
  // the CLI reports them without a stack trace
  const dir = mkdtempSync(join(tmpdir(), 'portus-honest-'));
  try {
    for (const [sc, re] of [
      [{ flows: [{ alg: 'cubic', count: 1e9 }] }, /count 1000000000 is above the limit of 10000 flows/],
      [{ flows: [{ alg: 'cubic' }], duration: '1e308s' }, /invalid time "1e308s"/],
      [{ flows: [{ alg: 'cubic', start: '40s' }], duration: '30s' }, /after the end of the run/],
    ] as const) {
      const f = join(dir, 's.json');
      writeFileSync(f, JSON.stringify(sc));
      const r = portus(['sim', f]);
      assert.equal(r.code, 1);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /); // no stack trace
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trace and scenario errors name the file and line but never quote its contents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portus-honest-'));
  try {
    const secret = 'root:$6$SECRETHASHsecrethash:19000:0:99999:7:::';
    const passwd = join(dir, 'shadow');
    writeFileSync(passwd, `${secret}\ndaemon:*:19000:0:99999:7:::\n`);
    assert.throws(
      () => loadTrace(passwd),
      (e: unknown) => {
        assert.ok(isPortusError(e));
        assert.match(e.message, /shadow:1: not a millisecond timestamp/);
        assert.doesNotMatch(e.message, /SECRET|root|daemon/);
        return true;
      },
    );
    assert.throws(
      () => loadScenario(passwd),
      (e: unknown) => {
        assert.ok(isPortusError(e));
        assert.match(e.message, /shadow:1: not valid JSON/);
        assert.doesNotMatch(e.message, /SECRET|root|daemon/);
        return true;
      },
    );
    const json = join(dir, 'bad.json');
    writeFileSync(json, '{\n  "flows": [\n    { "alg": "cubic" },\n  ]\n}\n');
    assert.throws(() => loadScenario(json), simError(/bad\.json:4: not valid JSON/));
    for (const args of [
      ['sim', '--trace', passwd],
      ['sim', passwd],
    ]) {
      const r = portus(args);
      assert.equal(r.code, 1);
      assert.match(r.err, /shadow:1: not/);
      assert.doesNotMatch(r.err, /SECRET|root:|daemon/);
    }
    // a device is refused instead of being read forever
    assert.throws(() => loadTrace('/dev/zero'), simError(/not a regular file/));
    assert.throws(() => loadScenario('/dev/zero'), simError(/not a regular file/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one warning line counts every flow beyond the datapath slots', async () => {
  const warnings: string[] = [];
  const extra = 7;
  const sc = resolveScenario({
    flows: [{ alg: 'const', params: { cwnd: '2' }, count: DATAPATH_SLOTS + extra }],
    link: '1gbps',
    duration: '100ms',
  });
  await runSimulation(sc, { warn: (m) => warnings.push(m) });
  const slot = warnings.filter((w) => /slot/.test(w));
  assert.deepEqual(slot, [
    `${extra} of ${DATAPATH_SLOTS + extra} flows exceed the datapath's ${DATAPATH_SLOTS} connection slots; ` +
      'they ran with their initial window, without congestion control',
  ]);
});
