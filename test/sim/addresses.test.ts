// The simulated datapath's CREATE carries addresses in network byte order, as ccp-kernel does
// (wire-protocol.md §4), so the agent's flowEndpoints/ipv4String print them correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  flowEndpoints,
  ipv4String,
  portNumber,
  type Algorithm,
  type DatapathHandle,
  type DatapathInfo,
  type Flow,
} from '../../src/agent/index.ts';
import { resolveScenario, runSimulation } from '../../src/sim/index.ts';

test('a simulated flow i is 10.0.0.(1+i):(40000+i) > 10.0.0.254:5001 at the agent', async () => {
  const seen: DatapathInfo[] = [];
  const probe: Algorithm = {
    name: 'probe',
    datapathPrograms: () => ({ idle: '(def (Report (volatile acked 0)))\n(when false (report))' }),
    newFlow(dp: DatapathHandle, info: DatapathInfo): Flow {
      seen.push(info);
      dp.setProgram('idle', { Cwnd: 10 * 1448 });
      return { onReport: () => {} };
    },
  };
  const sc = resolveScenario({
    link: '12mbps',
    rtt: '20ms',
    buffer: '1bdp',
    duration: '1s',
    flows: [{ alg: 'probe', count: 300 }],
  });
  await runSimulation(sc, { algorithms: [probe] });
  assert.equal(seen.length, 300);
  const bySrcPort = new Map(seen.map((i) => [portNumber(i.srcPort), i]));
  assert.equal(flowEndpoints(bySrcPort.get(40000)!), '10.0.0.1:40000 > 10.0.0.254:5001');
  assert.equal(flowEndpoints(bySrcPort.get(40001)!), '10.0.0.2:40001 > 10.0.0.254:5001');
  assert.equal(ipv4String(bySrcPort.get(40255)!.srcIp), '10.0.1.0');
  assert.equal(ipv4String(bySrcPort.get(40299)!.dstIp), '10.0.0.254');
  // On the wire: 10.0.0.1 is the bytes 0a 00 00 01, read little-endian.
  assert.equal(bySrcPort.get(40000)!.srcIp, 0x0100000a);
});
