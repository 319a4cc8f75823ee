// What the real libccp does with an agent's unaligned Cwnd on a kernel datapath (ccp-kernel:
// set_cwnd stores bytes / mss packets, snd_cwnd reports packets × mss): Reno's own program, run by
// libccp and by our TypeScript machine, calls set_cwnd with the agent's 312349 bytes and then, on
// the next ACK, with the 311320 bytes (215 × 1448) the kernel reported back. That byte "decrease"
// is no change of the window; the simulator (which models ccp-kernel) must not log it as a cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reno } from '../../src/algorithms/index.ts';
import { compile } from '../../src/lang/index.ts';
import { encodeChangeProg, encodeInstall, encodeUpdateFields } from '../../src/wire/index.ts';
import { needsLibccp, buildDrivers, runNative, runTs } from '../bpf/drivers.ts';

const MSS = 1448;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** ccp-kernel's do_set_cwnd and the snd_cwnd primitive it reports back: whole packets. */
const kernelWindow = (bytes: number): number => Math.floor(bytes / MSS) * MSS;

test(
  "libccp re-applies the kernel's packet-aligned window after an unaligned Cwnd from Reno (no window change)",
  {
    skip: needsLibccp,
  },
  () => {
    const [name, source] = Object.entries(reno().datapathPrograms())[0]!;
    assert.equal(name, 'DatapathIntervalRTTProg', "Reno's default program");
    const prog = compile(source, { uid: 1 });
    const cwnd = prog.scope.resolveUpdate('Cwnd');
    const agentCwnd = 312_349; // a value Reno's onReport sent in a simulator run (docs/sim.md)
    // bytes_acked … was_timeout (struct order): one segment acked, 200 in flight, 50 ms RTT sample
    const ack = (sndCwnd: number): string =>
      `ack 1 ${MSS} 1 0 0 0 0 0 ${200 * MSS} 200 ${sndCwnd} 0 50000 6000000 6000000 0 0`;
    const before = 210 * MSS;
    const script = [
      'time 1000',
      'init 1000000 3 10',
      `start ${10 * MSS} ${MSS}`,
      `recv ${hex(encodeInstall(prog.uid, prog.events, prog.instructions))}`,
      `recv ${hex(encodeChangeProg(1, 1, []))}`,
      'time 2000',
      ack(before),
      `recv ${hex(encodeUpdateFields(1, [{ regType: cwnd.regType, regIndex: cwnd.regIndex, value: BigInt(agentCwnd) }]))}`,
      'time 3000',
      ack(before), // the staged Cwnd is applied at once and again after the program
      'time 4000',
      ack(kernelWindow(agentCwnd)), // the kernel now holds 215 packets and reports them back
      'time 5000',
      ack(kernelWindow(agentCwnd)),
    ].join('\n');
    const ref = runNative(buildDrivers().libccp, script + '\n');
    assert.deepEqual(runTs(script + '\n'), ref, 'the TypeScript machine and libccp agree');
    const calls = ref.filter((l) => l.startsWith('cwnd ')).map((l) => Number(l.split(' ')[2]));
    assert.deepEqual(calls, [before, agentCwnd, agentCwnd, 311_320, 311_320]);
    // In bytes the datapath's set_cwnd goes down by 1029; in the kernel's packets it never does.
    const packets = calls.map((b) => kernelWindow(b) / MSS);
    assert.deepEqual(packets, [210, 215, 215, 215, 215]);
  },
);
