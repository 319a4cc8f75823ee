// Reno and Cubic (generic-cong-avoid) in the simulator when one reduction is not enough: the
// slow-start overshoot leaves the halved window above what link + buffer hold. The window must
// keep being reduced (once per loss episode) and then grow again, instead of freezing with a
// reduction deficit that never clears (docs/algorithms.md, "Departures from generic-cong-avoid").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Algorithm, DatapathHandle, DatapathInfo, Flow } from '../../src/agent/index.ts';
import { getAlgorithm } from '../../src/algorithms/index.ts';
import { resolveScenario, runSimulation, type Scenario } from '../../src/sim/index.ts';

const base: Omit<Scenario, 'flows'> = { link: '48mbps', rtt: '50ms', buffer: '1bdp', duration: '60s' };

/** Every Cwnd the agent sent, per flow (socket id), with the agent time in µs. */
type CwndLog = Map<number, { tUs: number; cwnd: number }[]>;

/** The built-in algorithm, recording each Cwnd update it sends (otherwise unchanged). */
function recording(name: string, log: CwndLog): Algorithm {
  const alg = getAlgorithm(name);
  return {
    name: alg.name,
    datapathPrograms: () => alg.datapathPrograms(),
    newFlow(dp: DatapathHandle, info: DatapathInfo): Flow {
      const trace: { tUs: number; cwnd: number }[] = [];
      log.set(dp.sockId, trace);
      const updateField = (field: string, value: number | bigint): void => {
        if (field === 'Cwnd') trace.push({ tUs: dp.now(), cwnd: Number(value) });
        dp.updateField(field, value);
      };
      // every other member is the runtime's own, called on the runtime's object
      const handle = new Proxy(dp, {
        get(target, key) {
          if (key === 'updateField') return updateField;
          const v: unknown = Reflect.get(target, key, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      return alg.newFlow(handle, info);
    },
  };
}

/** Decreases and increases of a Cwnd trace, and the times of the decreases. */
function changes(trace: { tUs: number; cwnd: number }[]): { down: number[]; up: number } {
  const down: number[] = [];
  let up = 0;
  for (let i = 1; i < trace.length; i++) {
    if (trace[i]!.cwnd < trace[i - 1]!.cwnd) down.push(trace[i]!.tUs);
    else if (trace[i]!.cwnd > trace[i - 1]!.cwnd) up++;
  }
  return { down, up };
}

test('one Reno flow, 48 Mbit/s, 50 ms, 1 x BDP, 60 s: recovers from the slow-start overshoot', async () => {
  const log: CwndLog = new Map();
  const r = await runSimulation(resolveScenario({ ...base, flows: [{ alg: 'reno' }] }), {
    algorithms: [recording('reno', log)],
  });
  const f = r.summary.flows[0]!;
  assert.ok(r.summary.utilisation >= 0.9, `utilisation ${r.summary.utilisation}`);
  assert.ok(f.lossRate < 0.01, `loss rate ${(f.lossRate * 100).toFixed(2)} %`);
  assert.equal(f.timeouts, 0);
  const trace = [...log.values()][0]!;
  const { down, up } = changes(trace);
  // the first halving (~1012 -> ~506 packets) is still above the ~400 packets the path holds
  assert.ok(down.length >= 3, `reductions at ${down.map((t) => (t / 1e6).toFixed(3)).join(', ')} s`);
  assert.ok(up >= 100, `only ${up} increases`);
  assert.ok(
    trace.filter((x) => x.tUs > down[0]!).length >= 100,
    'the window keeps being updated after the first reduction',
  );
  // later in the run the sawtooth stays within link + buffer (~400 packets)
  const late = trace.filter((x) => x.tUs > 10e6).map((x) => x.cwnd / 1500);
  assert.ok(Math.max(...late) < 420, `max late cwnd ${Math.max(...late)} packets`);
  // one reduction per episode: never two within one (queue-full) RTT of ~100 ms
  for (let i = 1; i < down.length; i++) {
    assert.ok(down[i]! - down[i - 1]! >= 100_000, `reductions ${down[i - 1]} and ${down[i]} µs`);
  }
});

test('two Reno flows, 48 Mbit/s, 50 ms, 1 x BDP, 60 s: loss stays below 1 %', async () => {
  const r = await runSimulation(resolveScenario({ ...base, flows: [{ alg: 'reno', count: 2 }] }));
  let sent = 0;
  let dropped = 0;
  for (const f of r.summary.flows) {
    sent += f.sentPkts;
    dropped += f.droppedPkts;
  }
  assert.ok(r.summary.utilisation >= 0.9, `utilisation ${r.summary.utilisation}`);
  assert.ok(dropped / sent < 0.01, `loss rate ${((dropped / sent) * 100).toFixed(2)} %`);
});
