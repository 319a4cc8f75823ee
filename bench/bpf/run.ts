/**
 * BPF datapath benchmark (needs root and a kernel with BPF struct_ops; otherwise prints why and
 * exits 0). Flows run between two network namespaces joined by a veth pair (in-host, no
 * bottleneck: the "loopback" of this benchmark — on `lo` itself the receiving sockets would run
 * portus too and take half the connection slots), the sender's default congestion control is
 * portus, and the agent runs in this process on the `bpf` transport:
 *
 *  1. per-ACK cost of `cong_control` with each built-in algorithm's programs, from the kernel's
 *     BPF run-time statistics (`sysctl kernel.bpf_stats_enabled=1`), next to the cost of an empty
 *     cycle of the same statistics (`bpf_stats_enabled` itself costs two clock reads per call);
 *  2. throughput and CPU per gigabit of one iperf3 flow, portus/cubic against the kernel's cubic in
 *     the same run (CPU = iperf3's own figures for both ends plus, for portus, the agent and the
 *     loader);
 *  3. reports/s reaching the agent with 1000 concurrent flows (8 iperf3 clients × 125 streams).
 *
 * Run: `node --import tsx bench/bpf/run.ts [seconds]`. Numbers are machine- and load-dependent and
 * never fail anything.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startAgent, silentLogger, type Agent } from '../../src/agent/index.ts';
import { getAlgorithm } from '../../src/algorithms/index.ts';
import { openBpf, type BpfTransport } from '../../src/ipc/index.ts';
import { ensureBuilt, unavailable } from '../../test/bpf/net.ts';

const SECS = Number(process.argv[2] ?? 3);
const NS = `pbench${process.pid % 10000}s`;
const RCV = `pbench${process.pid % 10000}r`;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (args: string[]): string[] => ['netns', 'exec', NS, ...args];

interface Iperf {
  bps: number;
  cpuHost: number;
  cpuRemote: number;
}

async function iperf(
  secs: number,
  opts: { cc?: string; port?: number; parallel?: number } = {},
): Promise<Iperf> {
  const port = String(opts.port ?? 5201);
  const args = inNs(['iperf3', '-c', '10.78.0.2', '-p', port, '-t', String(secs), '-J']);
  if (opts.cc) args.push('-C', opts.cc);
  if (opts.parallel) args.push('-P', String(opts.parallel));
  const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => p.once('exit', r));
  if (!out.trimStart().startsWith('{')) return { bps: 0, cpuHost: 0, cpuRemote: 0 }; // client failed (load)
  const j = JSON.parse(out) as {
    end: {
      sum_sent: { bits_per_second: number };
      cpu_utilization_percent: { host_total: number; remote_total: number };
    };
  };
  return {
    bps: j.end.sum_sent.bits_per_second,
    cpuHost: j.end.cpu_utilization_percent.host_total,
    cpuRemote: j.end.cpu_utilization_percent.remote_total,
  };
}

/** CPU seconds of a process so far (utime + stime), from /proc. */
function procCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function withAgent<T>(alg: string, body: (t: BpfTransport, a: Agent) => Promise<T>): Promise<T> {
  const transport = await openBpf({ log: () => {} });
  const agent = startAgent({
    transport,
    algorithms: [getAlgorithm(alg, alg === 'const' ? { cwnd: '40' } : {})],
    log: silentLogger,
  });
  sh('ip', inNs(['sysctl', '-qw', 'net.ipv4.tcp_congestion_control=portus']));
  try {
    return await body(transport, agent);
  } finally {
    sh('ip', inNs(['sysctl', '-qw', 'net.ipv4.tcp_congestion_control=reno']));
    await agent.close();
  }
}

async function main(): Promise<void> {
  const why = unavailable();
  if (why !== null) {
    console.log(`bench/bpf skipped: ${why}`);
    return;
  }
  ensureBuilt();
  for (const n of [NS, RCV]) {
    spawnSync('ip', ['netns', 'del', n]);
    sh('ip', ['netns', 'add', n]);
    sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['link', 'add', 'vs', 'netns', NS, 'type', 'veth', 'peer', 'name', 'vr', 'netns', RCV]);
  sh('ip', ['-n', NS, 'addr', 'add', '10.78.0.1/24', 'dev', 'vs']);
  sh('ip', ['-n', RCV, 'addr', 'add', '10.78.0.2/24', 'dev', 'vr']);
  sh('ip', ['-n', NS, 'link', 'set', 'vs', 'up']);
  sh('ip', ['-n', RCV, 'link', 'set', 'vr', 'up']);
  const servers = Array.from({ length: 8 }, (_, i) =>
    spawn('ip', ['netns', 'exec', RCV, 'iperf3', '-s', '-p', String(5201 + i)], { stdio: 'ignore' }),
  );
  const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  sh('sysctl', ['-qw', 'kernel.bpf_stats_enabled=1']);
  try {
    await new Promise((r) => setTimeout(r, 300));
    console.log(`BPF datapath benchmark, ${SECS} s per run, veth ${NS} -> ${RCV} (numbers vary with load)\n`);

    console.log('1. per-ACK cost of cong_control (BPF run-time stats)');
    for (const alg of ['const', 'reno', 'cubic']) {
      await withAgent(alg, async (t, a) => {
        const s0 = await t.stats();
        await iperf(SECS);
        const s1 = await t.stats();
        const calls = s1.runCount - s0.runCount;
        const ns = calls > 0 ? (s1.runTimeNs - s0.runTimeNs) / calls : 0;
        console.log(
          `   ${alg.padEnd(6)} ${ns.toFixed(0).padStart(5)} ns/ACK over ${calls} ACKs, ` +
            `${s1.reports - s0.reports} reports (${((s1.reports - s0.reports) / SECS).toFixed(0)}/s), ` +
            `agent saw ${a.stats().reports}`,
        );
      });
    }

    console.log('\n2. one flow, in-host veth: portus/cubic vs the kernel cubic');
    const native = await iperf(SECS, { cc: 'cubic' });
    const viaBpf = await withAgent('cubic', async (t) => {
      const c0 = process.cpuUsage();
      const l0 = procCpu(t.pid);
      const r = await iperf(SECS);
      const c1 = process.cpuUsage(c0);
      const extra = (c1.user + c1.system) / 1e6 + (procCpu(t.pid) - l0);
      return { ...r, extra };
    });
    const perGbit = (r: Iperf, extraCpuS: number): number =>
      (((r.cpuHost + r.cpuRemote) / 100) * SECS + extraCpuS) / ((r.bps * SECS) / 1e9);
    const nPer = perGbit(native, 0);
    const bPer = perGbit(viaBpf, viaBpf.extra);
    console.log(
      `   kernel cubic : ${(native.bps / 1e9).toFixed(2)} Gbit/s, ${nPer.toFixed(3)} CPU-s per Gbit`,
    );
    console.log(
      `   portus/cubic : ${(viaBpf.bps / 1e9).toFixed(2)} Gbit/s, ${bPer.toFixed(3)} CPU-s per Gbit ` +
        `(agent + loader ${viaBpf.extra.toFixed(2)} CPU-s)`,
    );
    console.log(
      `   ratio portus/kernel: throughput ${(viaBpf.bps / native.bps).toFixed(2)}, CPU per Gbit ${(bPer / nPer).toFixed(2)}`,
    );

    console.log('\n3. reports/s to the agent at 1000 flows (reno, 8 × iperf3 -P 125)');
    await withAgent('reno', async (t, a) => {
      const s0 = await t.stats();
      const r0 = a.stats().reports;
      const t0 = Date.now();
      let peakFlows = 0;
      const sampler = setInterval(() => (peakFlows = Math.max(peakFlows, a.stats().flows)), 200);
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => iperf(SECS, { port: 5201 + i, parallel: 125 })),
      );
      clearInterval(sampler);
      const secs = (Date.now() - t0) / 1000;
      const s1 = await t.stats();
      const total = runs.reduce((x, r) => x + r.bps, 0);
      const failed = runs.filter((r) => r.bps === 0).length;
      console.log(
        `   ${peakFlows} flows at peak, ${((a.stats().reports - r0) / secs).toFixed(0)} reports/s handled by the agent, ` +
          `${((s1.reports - s0.reports) / secs).toFixed(0)} reports/s out of the kernel, ` +
          `${s1.sendFailures - s0.sendFailures} ring-buffer failures, ${s1.noSlot - s0.noSlot} flows without a slot, ` +
          `${(total / 1e9).toFixed(2)} Gbit/s total` +
          (failed > 0 ? ` (${failed} of 8 iperf3 clients failed to run)` : ''),
      );
    });
  } finally {
    sh('sysctl', ['-qw', `kernel.bpf_stats_enabled=${statsWas}`]);
    for (const s of servers) s.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['netns', 'del', RCV]);
  }
}

await main();
