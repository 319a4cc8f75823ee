/**
 * Raw baselines over the unix datagram addon, between two processes, with no CCP processing at
 * all: the ping-pong round trip of a bare datagram ({@link rawPingPong}) and the one-way receive
 * rate of a flood ({@link rawFlood}). `bench/ipc` prints the agent's report → update round trip
 * and reports/s as ratios of these, measured in the same run.
 *
 * Run alone: `node --import tsx bench/ipc/raw.ts [N]`.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rawUnixSocket } from '../../src/ipc/unix.ts';

/** Result of {@link rawPingPong}: round-trip times in microseconds. */
export interface PingPongResult {
  /** Measured round trips (after warm-up). */
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  minUs: number;
}

/** Options of {@link rawPingPong}. */
export interface PingPongOptions {
  /** Round trips measured (default 10000). */
  n?: number;
  /** Unmeasured warm-up round trips first (default 1000). */
  warmup?: number;
  /** Datagram size in bytes (default 40, a 3-field MEASURE). */
  size?: number;
}

/** The p-th percentile (0–100) of sorted values (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Result of {@link rawFlood}: one-way datagrams per second received from a sending process. */
export interface FloodResult {
  n: number;
  perSecond: number;
}

/** Spawn the peer process bound in `dir`; resolves once it is ready. */
async function startPeer(dir: string): Promise<{ path: string; stop: () => void }> {
  const path = join(dir, 'echo');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./raw-echo.ts', import.meta.url)), path],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`peer process exited early (${code})`)));
    child.stdout!.once('data', () => resolve());
  });
  return {
    path,
    stop: () => {
      child.removeAllListeners('exit');
      child.stdin!.end();
      child.kill('SIGTERM');
    },
  };
}

/**
 * Measure how many `size`-byte datagrams per second this process receives when another process
 * sends `n` of them as fast as the socket allows — the raw ceiling for sustained reports/s.
 */
export async function rawFlood(opts: { n?: number; size?: number } = {}): Promise<FloodResult> {
  const n = opts.n ?? 200_000;
  const size = opts.size ?? 40;
  const dir = mkdtempSync(join(tmpdir(), 'portus-bench-flood-'));
  const peer = await startPeer(dir);
  try {
    let got = 0;
    let first = 0n;
    let last = 0n;
    await new Promise<void>((resolve) => {
      const sock = rawUnixSocket(
        (status) => {
          if (status < 0) return;
          last = process.hrtime.bigint();
          if (got === 0) first = last;
          if (++got === n) {
            sock.close();
            resolve();
          }
        },
        join(dir, 'bench'),
      );
      const req = Buffer.alloc(13);
      req.write('FLOOD', 0, 'latin1');
      req.writeUInt32LE(n, 5);
      req.writeUInt32LE(size, 9);
      sock.sendto(req, peer.path);
    });
    return { n, perSecond: (n - 1) / (Number(last - first) / 1e9) };
  } finally {
    peer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Measure `n` sequential round trips of a `size`-byte datagram between this process and an echo
 * child process, over unix datagram sockets in a private temporary directory.
 */
export async function rawPingPong(opts: PingPongOptions = {}): Promise<PingPongResult> {
  const n = opts.n ?? 10_000;
  const warmup = opts.warmup ?? 1_000;
  const size = opts.size ?? 40;
  const dir = mkdtempSync(join(tmpdir(), 'portus-bench-raw-'));
  const peer = await startPeer(dir);
  const echoPath = peer.path;
  try {
    const rtts = new Float64Array(n);
    const msg = Buffer.alloc(size, 0x5a);
    const total = warmup + n;
    let i = 0;
    let sentAt = 0n;
    await new Promise<void>((resolve, reject) => {
      const sock = rawUnixSocket(
        (status) => {
          if (status < 0) return;
          const now = process.hrtime.bigint();
          if (i >= warmup) rtts[i - warmup] = Number(now - sentAt) / 1000;
          i++;
          if (i === total) {
            sock.close();
            resolve();
            return;
          }
          sentAt = process.hrtime.bigint();
          if (sock.sendto(msg, echoPath) < 0) reject(new Error('sendto failed'));
        },
        join(dir, 'bench'),
      );
      sentAt = process.hrtime.bigint();
      if (sock.sendto(msg, echoPath) < 0) reject(new Error('sendto failed'));
    });
    const sorted = Float64Array.from(rtts).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      n,
      p50Us: percentile(sorted, 50),
      p99Us: percentile(sorted, 99),
      meanUs: sum / n,
      minUs: sorted[0]!,
    };
  } finally {
    peer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 10_000);
  const r = await rawPingPong({ n });
  console.log(
    `raw unix datagram ping-pong (${r.n} round trips, 40 B): p50 ${r.p50Us.toFixed(1)} µs, p99 ${r.p99Us.toFixed(1)} µs, mean ${r.meanUs.toFixed(1)} µs, min ${r.minUs.toFixed(1)} µs`,
  );
  const f = await rawFlood();
  console.log(
    `raw unix datagram flood (${f.n} datagrams, 40 B, one way): ${Math.round(f.perSecond)} datagrams/s`,
  );
}
