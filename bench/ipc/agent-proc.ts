/**
 * Our agent as the benchmark runs it: `startAgent` with aimd on the unix transport (what
 * `portus run aimd` does), in its own process, plus a tiny stdin protocol to measure it:
 *
 *   `mark`     → collect garbage, remember heap used, CPU time and reports served
 *   `measure`  → print one JSON line: reports, heapBytes, cpuUs, gcs since the mark
 *
 * Started with a large young generation (`--max-semi-space-size`) so that the measured stretch
 * normally runs without a garbage collection, which makes heap growth = bytes allocated.
 *
 * Run: node --expose-gc --max-semi-space-size=128 --min-semi-space-size=128 --import tsx bench/ipc/agent-proc.ts SOCKET
 * @module
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { silentLogger, startAgent } from '../../src/agent/index.ts';
import { aimd } from '../../src/algorithms/index.ts';
import { openUnix } from '../../src/ipc/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const transport = await openUnix({ path: process.argv[2]! });
const agent = startAgent({ transport, algorithms: [aimd()], log: silentLogger });
let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
let mark = { heap: 0, cpu: process.cpuUsage(), reports: 0, gcs: 0 };
const reports = (): number => agent.stats().reports;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'mark') {
    gc?.();
    // the forced collection's performance entry arrives asynchronously: snapshot after it
    setTimeout(() => {
      mark = { heap: process.memoryUsage().heapUsed, cpu: process.cpuUsage(), reports: reports(), gcs };
      process.stdout.write('marked\n');
    }, 50);
  } else if (line === 'measure') {
    const cpu = process.cpuUsage(mark.cpu);
    process.stdout.write(
      JSON.stringify({
        reports: reports() - mark.reports,
        heapBytes: process.memoryUsage().heapUsed - mark.heap,
        cpuUs: cpu.user + cpu.system,
        gcs: gcs - mark.gcs,
      }) + '\n',
    );
  }
});
process.on('SIGTERM', () => void agent.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
