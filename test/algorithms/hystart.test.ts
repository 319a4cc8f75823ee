// HyStart's delay-increase detection for Cubic (src/algorithms/hystart.ts): the parameter, the
// datapath program it adds, and the per-report decision with Linux's threshold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '../../src/agent/index.ts';
import { compile } from '../../src/lang/index.ts';
import { getAlgorithm, hystartDelayThresh, HyStart } from '../../src/algorithms/index.ts';
import { INTERVAL_RTT_PROG } from '../../src/algorithms/programs.ts';
import { ErrorCodes, PortusError } from '../../src/errors.ts';

const MSS = 1000;
const NO_SAMPLE = 0xffffffff;

function report(rtt: number, hsrtt: number, hssamples: number, minrtt = hsrtt): Report {
  return { rtt, minrtt, hsrtt, hssamples } as unknown as Report; // only the fields HyStart reads
}

test('hystart: off by default, the report program is unchanged', () => {
  assert.deepEqual(getAlgorithm('cubic').datapathPrograms(), { DatapathIntervalRTTProg: INTERVAL_RTT_PROG });
  assert.deepEqual(getAlgorithm('cubic', { hystart: 'false' }).datapathPrograms(), {
    DatapathIntervalRTTProg: INTERVAL_RTT_PROG,
  });
});

test('hystart: every report program it makes compiles, with the three extra Report fields', () => {
  for (const extra of [{}, { per_ack: 'true' }, { report_interval_ms: '10' }]) {
    const progs = getAlgorithm('cubic', { hystart: 'true', ...extra }).datapathPrograms();
    for (const [name, text] of Object.entries(progs)) {
      const p = compile(text);
      assert.deepEqual(p.warnings, [], name);
      for (const f of ['minrtt', 'hsrtt', 'hssamples']) {
        assert.ok(p.scope.reportIndex(f) >= 0, `${name} reports ${f} (${p.scope.reportFields.join(', ')})`);
      }
    }
  }
});

test('hystart: bad values and ss_in_fold are ALGORITHM errors; unknown names list hystart', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof PortusError);
      return `${e.code}: ${e.message}`;
    }
    return undefined;
  };
  assert.match(
    code(() => getAlgorithm('cubic', { hystart: 'maybe' }))!,
    new RegExp(`^${ErrorCodes.ALGORITHM}.*true or false`),
  );
  assert.match(
    code(() => getAlgorithm('cubic', { hystart: '1', ss_in_fold: '1' }))!,
    /exclude each other/,
  );
  assert.match(
    code(() => getAlgorithm('cubic', { hystrat: '1' }))!,
    /accepted: .*hystart/,
  );
  assert.match(
    code(() => getAlgorithm('reno', { hystart: '1' }))!,
    /unknown parameter 'hystart'/,
  );
});

test('hystart: threshold is clamp(minRTT / 8, 4 ms, 16 ms)', () => {
  assert.equal(hystartDelayThresh(10_000), 4000);
  assert.equal(hystartDelayThresh(50_000), 6250);
  assert.equal(hystartDelayThresh(200_000), 16_000);
});

test('hystart: exits when the round minimum exceeds delay_min + threshold, not at it', () => {
  const h = new HyStart(0);
  const ss = 0x7fffffff;
  // first round sets delay_min = 50 ms
  assert.equal(h.onReport(report(50_000, 50_000, 8), 20 * MSS, ss, MSS, 60_000), false);
  assert.equal(h.delayMin, 50_000);
  // exactly at the threshold: Linux compares with `>`
  assert.equal(h.onReport(report(56_250, 56_250, 8, 50_000), 40 * MSS, ss, MSS, 120_000), false);
  assert.equal(h.onReport(report(56_251, 56_251, 8, 50_000), 80 * MSS, ss, MSS, 180_000), true);
  assert.equal(h.found, true);
  // found: no second exit until a timeout re-arms it
  assert.equal(h.onReport(report(90_000, 90_000, 8, 50_000), 80 * MSS, ss, MSS, 280_000), false);
  h.reset(300_000);
  assert.equal(h.delayMin, 0, 'a timeout clears delay_min, as Linux');
  assert.equal(h.onReport(report(90_000, 90_000, 8, 50_000), 80 * MSS, ss, MSS, 400_000), true);
});

test('hystart: needs 8 samples in the round, a window of 16 packets and slow start', () => {
  const ss = 0x7fffffff;
  const h = new HyStart(0);
  h.onReport(report(50_000, 50_000, 8), 20 * MSS, ss, MSS, 60_000);
  // below hystart_low_window
  assert.equal(h.onReport(report(80_000, 80_000, 8, 50_000), 15 * MSS, ss, MSS, 150_000), false);
  // not in slow start
  assert.equal(h.onReport(report(80_000, 80_000, 8, 50_000), 40 * MSS, 40 * MSS, MSS, 240_000), false);
  // no complete block of samples in this report
  assert.equal(h.onReport(report(80_000, NO_SAMPLE, 0, 50_000), 40 * MSS, ss, MSS, 330_000), false);
  // per-ACK reports: the round gathers samples over several reports (within one RTT)
  const p = new HyStart(0);
  p.onReport(report(50_000, 50_000, 8), 20 * MSS, ss, MSS, 60_000);
  assert.equal(p.onReport(report(80_000, 80_000, 4, 50_000), 40 * MSS, ss, MSS, 61_000), false);
  assert.equal(p.onReport(report(80_000, 80_000, 4, 50_000), 40 * MSS, ss, MSS, 62_000), true);
});
