/**
 * Real-TCP rig for the BPF datapath tests: three network namespaces
 * `sender — router — receiver` joined by veth pairs, with a `tbf` bottleneck on the router's
 * interface towards the receiver (real drops when its buffer overflows), an iperf3 server in the
 * receiver, the agent (`portus run … --ipc bpf`) as a child process, and `ss -tin` sampling in
 * the sender. Everything is torn down by {@link Rig.close}, also after failures.
 *
 * No base delay: this kernel has no netem. The RTT is the tbf queue's delay (up to
 * `BUFFER_BYTES` / rate ≈ 24 ms), which is what loss-based algorithms react to.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
export const PREBUILDS = join(ROOT, 'prebuilds/linux-x64');
export const RATE_MBIT = 20;
const BUFFER_BYTES = 60000;
const SND_IP = '10.77.1.1';
export const RCV_IP = '10.77.2.2';

/** Why the real-TCP tests cannot run here, or null. */
export function unavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (BPF struct_ops and network namespaces need root)';
  const build = cannotBuild();
  if (build !== null) return build;
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  for (const tool of ['ip', 'tc', 'ss', 'iperf3', 'sysctl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  }
  return null;
}

function run(cmd: string, args: string[], check = true): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (check && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Why the BPF datapath cannot be built here (clang, bpftool, libbpf-dev, kernel BTF), or null. */
export function cannotBuild(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  for (const tool of ['clang', 'bpftool', 'llvm-strip', 'cc']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  }
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev not installed';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no kernel BTF';
  return null;
}

/** Build prebuilds/linux-x64 when missing or older than native/bpf. */
export function ensureBuilt(): void {
  const loader = join(PREBUILDS, 'portus-bpf-loader');
  const srcDir = join(ROOT, 'native/bpf');
  const newest = Math.max(
    statSync(join(ROOT, 'scripts/build-bpf.sh')).mtimeMs,
    ...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs),
  );
  if (existsSync(loader) && statSync(loader).mtimeMs >= newest) return;
  run('bash', [join(ROOT, 'scripts/build-bpf.sh')]);
}

export interface SsSample {
  cc: string;
  cwnd: number;
  pacingBps: number;
  bytesAcked: number;
}

export interface IperfResult {
  bps: number;
  retransmits: number;
  /** Throughput per 0.5 s interval. */
  intervals: number[];
}

export interface Agent {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

export class Rig {
  readonly snd: string;
  readonly rtr: string;
  readonly rcv: string;
  private readonly procs = new Set<ChildProcess>();
  private server: ChildProcess | null = null;

  constructor() {
    const tag = `pt${process.pid % 100000}`;
    this.snd = `${tag}s`;
    this.rtr = `${tag}r`;
    this.rcv = `${tag}c`;
  }

  ns(ns: string, cmd: string, args: string[], check = true): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], check);
  }

  setup(): void {
    this.close();
    for (const n of [this.snd, this.rtr, this.rcv]) {
      run('ip', ['netns', 'add', n]);
      run('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
    run('ip', [
      'link',
      'add',
      'va',
      'netns',
      this.snd,
      'type',
      'veth',
      'peer',
      'name',
      'ra',
      'netns',
      this.rtr,
    ]);
    run('ip', [
      'link',
      'add',
      'vb',
      'netns',
      this.rcv,
      'type',
      'veth',
      'peer',
      'name',
      'rb',
      'netns',
      this.rtr,
    ]);
    const addr = (n: string, dev: string, a: string): void => {
      run('ip', ['-n', n, 'addr', 'add', a, 'dev', dev]);
      run('ip', ['-n', n, 'link', 'set', dev, 'up']);
    };
    addr(this.snd, 'va', `${SND_IP}/24`);
    addr(this.rtr, 'ra', '10.77.1.2/24');
    addr(this.rtr, 'rb', '10.77.2.1/24');
    addr(this.rcv, 'vb', `${RCV_IP}/24`);
    run('ip', ['-n', this.snd, 'route', 'add', 'default', 'via', '10.77.1.2']);
    run('ip', ['-n', this.rcv, 'route', 'add', 'default', 'via', '10.77.2.1']);
    this.ns(this.rtr, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    this.ns(this.rtr, 'tc', [
      'qdisc',
      'add',
      'dev',
      'rb',
      'root',
      'tbf',
      'rate',
      `${RATE_MBIT}mbit`,
      'burst',
      '20kb',
      'limit',
      String(BUFFER_BYTES),
    ]);
    this.server = spawn('ip', ['netns', 'exec', this.rcv, 'iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
    this.procs.add(this.server);
  }

  /** The sender namespace's default congestion control. */
  setDefaultCc(cc: string): void {
    this.ns(this.snd, 'sysctl', ['-qw', `net.ipv4.tcp_congestion_control=${cc}`]);
  }

  /** Start `portus run <args> --ipc bpf` and wait until it runs. */
  async startAgent(args: string[]): Promise<Agent> {
    const proc = spawn(process.execPath, [join(ROOT, 'bin/portus.js'), 'run', ...args, '--ipc', 'bpf'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.procs.add(proc);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`agent did not start:\n${out}`)), 30000);
      const check = (): void => {
        if (/portus: running/.test(out)) {
          clearTimeout(t);
          res();
        }
      };
      proc.stdout!.on('data', check);
      proc.once('exit', (c) => {
        clearTimeout(t);
        rej(new Error(`agent exited (${c}):\n${out}`));
      });
    });
    proc.removeAllListeners('exit');
    return {
      proc,
      output: () => out,
      stop: () =>
        new Promise<void>((res) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return res();
          proc.once('exit', () => res());
          proc.kill('SIGTERM');
        }),
    };
  }

  /** One `ss -tin` snapshot of the sender's connections to the receiver. */
  ss(): SsSample[] {
    const out = this.ns(this.snd, 'ss', ['-tinH', 'dst', RCV_IP], false);
    const samples: SsSample[] = [];
    for (const line of out.split('\n')) {
      const m = /^\s+(\w+)\s.*\bcwnd:(\d+)/.exec(line);
      if (!m) continue;
      const pacing = /pacing_rate (\d+(?:\.\d+)?)([KMG]?)bps/.exec(line);
      const mult = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[pacing?.[2] ?? ''] ?? 1;
      samples.push({
        cc: m[1]!,
        cwnd: Number(m[2]),
        pacingBps: pacing ? Number(pacing[1]) * mult : 0,
        bytesAcked: Number(/bytes_acked:(\d+)/.exec(line)?.[1] ?? 0),
      });
    }
    return samples;
  }

  /** Run iperf3 for `secs` seconds (optionally with a per-socket cc), sampling ss every 100 ms. */
  async iperf(
    secs: number,
    cc?: string,
    during?: (elapsedMs: number) => void,
  ): Promise<{ result: IperfResult; samples: SsSample[] }> {
    const args = [
      'netns',
      'exec',
      this.snd,
      'iperf3',
      '-c',
      RCV_IP,
      '-p',
      '5201',
      '-t',
      String(secs),
      '-i',
      '0.5',
      '-J',
    ];
    if (cc) args.push('-C', cc);
    const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.add(proc);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const samples: SsSample[] = [];
    const t0 = Date.now();
    const timer = setInterval(() => {
      // the data connection is the one with the most bytes acked
      const s = this.ss().sort((a, b) => b.bytesAcked - a.bytesAcked)[0];
      if (s && s.bytesAcked > 100000) samples.push(s);
      during?.(Date.now() - t0);
    }, 100);
    const code = await new Promise<number | null>((res) => proc.once('exit', res));
    clearInterval(timer);
    this.procs.delete(proc);
    if (code !== 0) throw new Error(`iperf3 failed (${code}): ${out.slice(-2000)}`);
    const j = JSON.parse(out) as {
      end: { sum_sent: { bits_per_second: number; retransmits?: number } };
      intervals: Array<{ sum: { bits_per_second: number } }>;
    };
    return {
      result: {
        bps: j.end.sum_sent.bits_per_second,
        retransmits: j.end.sum_sent.retransmits ?? 0,
        intervals: j.intervals.map((i) => i.sum.bits_per_second),
      },
      samples,
    };
  }

  /** Kill what was started, reset the defaults, delete the namespaces. Safe to call repeatedly. */
  close(): void {
    for (const p of this.procs) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    this.procs.clear();
    for (const n of [this.snd, this.rtr, this.rcv]) {
      // Deleting the namespace drops its reference to a (possibly unregistered) portus.
      run('ip', ['netns', 'del', n], false);
    }
  }
}

/** Whether `portus` is currently registered (listed as available). */
export function portusRegistered(): boolean {
  return readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8')
    .split(/\s+/)
    .includes('portus');
}
