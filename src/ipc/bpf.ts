/**
 * The eBPF datapath transport (`--ipc bpf`, docs/bpf.md): spawns `portus-bpf-loader`, which loads
 * and registers the BPF TCP congestion control `portus` through libbpf and relays between its
 * maps and this process over the child's stdin/stdout:
 *
 * - datapath → agent: CREATE, MEASURE and the close MEASURE from the kernel's ring buffer, and a
 *   READY from the loader once the algorithm is registered, delivered from address `'bpf'`;
 * - agent → datapath: INSTALL_EXPR, UPDATE_FIELDS and CHANGE_PROG, applied to the kernel's maps
 *   with libccp's semantics.
 *
 * Frames on the pipe: kind (1 byte), length (u32 LE), payload. Kinds: 'M' one CCP message, 'L' a
 * log line (level byte + text), 'I' JSON once registered, 'S' statistics, 'E' a fatal error.
 * The agent cannot tell this transport from a socket to a libccp datapath.
 *
 * Closing the transport (or the agent dying) closes the loader's stdin: the kernel's sends fail
 * from then on, so flows fall back to the datapath's own window after the fallback timeout, and
 * the loader exits, which unregisters `portus` (sockets already using it keep it until they close).
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Address, ReceiveHandler, Transport } from './types.ts';
import { sendError, unavailable } from './errors.ts';

/** Address every message from the BPF datapath is attributed to. */
export const BPF_ADDRESS = 'bpf';
/** Where the prebuilt loader and BPF objects live in the package (linux-x64). */
export const DEFAULT_BPF_DIR = fileURLToPath(new URL('../../prebuilds/linux-x64/', import.meta.url));

/** Options of {@link openBpf}. */
export interface BpfOptions {
  /** Directory with `portus-bpf-loader` and the `.bpf.o` objects (default: `$PORTUS_BPF_DIR`, else the package's prebuilds/linux-x64). */
  dir?: string;
  /** Fallback timeout in µs: a failed send plus this much agent silence puts flows on the datapath's own window (default 1000, as ccp-kernel). */
  ftoUs?: number;
  /** Which cong_control signature to load: 'auto' (from the kernel's BTF, default), 'new' (≥ 6.10) or 'old'. */
  variant?: 'auto' | 'new' | 'old';
  /** Forward the loader's debug log lines too. */
  verbose?: boolean;
  /** Receives the loader's log lines (default: warnings and errors go to stderr). */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Milliseconds to wait for the algorithm to be registered (default 20000: the verifier is slow on small machines). */
  startTimeoutMs?: number;
}

/** Counters of the BPF datapath (kernel side) and the BPF run-time statistics of `cong_control`. */
export interface BpfStats {
  invocations: number;
  reports: number;
  creates: number;
  closes: number;
  sendFailures: number;
  fallbackAcks: number;
  errors: number;
  noSlot: number;
  inFallback: number;
  /** Total ns spent in `cong_control` (0 unless `sysctl kernel.bpf_stats_enabled=1`). */
  runTimeNs: number;
  runCount: number;
}

/** What the loader registered. */
export interface BpfInfo {
  name: string;
  /** 'pre-6.10' or '6.10+': the cong_control signature loaded. */
  variant: string;
  ftoUs: number;
  maxFlows: number;
}

/** The BPF transport: a {@link Transport} plus the datapath's statistics. */
export interface BpfTransport extends Transport {
  readonly info: BpfInfo;
  /** The loader's process id. */
  readonly pid: number;
  /** Ask the loader for the datapath's counters. */
  stats(): Promise<BpfStats>;
}

const LEVELS = ['debug', 'debug', 'info', 'warn', 'error'] as const;
/** Initial size of the reused frame buffer (header + the largest usual message). */
const FRAME_BUFFER = 4096;

/**
 * Spawn the loader and wait until `portus` is registered.
 * @throws PortusError(IPC_UNAVAILABLE) when the loader is missing, is not permitted (not root /
 *   no CAP_BPF), or the kernel refuses the program (the message carries the loader's reason).
 */
export function openBpf(opts: BpfOptions = {}): Promise<BpfTransport> {
  const dir = opts.dir ?? process.env.PORTUS_BPF_DIR ?? DEFAULT_BPF_DIR;
  const loader = `${dir.replace(/\/$/, '')}/portus-bpf-loader`;
  if (process.platform !== 'linux') {
    return Promise.reject(unavailable('the BPF datapath needs Linux (kernel >= 5.13 with BTF)'));
  }
  if (!existsSync(loader)) {
    return Promise.reject(
      unavailable(`${loader} not found: build it with \`npm run build:bpf\` (clang, bpftool, libbpf-dev)`),
    );
  }
  const args = [
    '--obj-dir',
    dir,
    '--fto-us',
    String(opts.ftoUs ?? 1000),
    '--variant',
    opts.variant ?? 'auto',
  ];
  if (opts.verbose) args.push('--verbose');
  const child = spawn(loader, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise<BpfTransport>((resolve, reject) => {
    let handler: ReceiveHandler | null = null;
    let errorHandler: ((err: Error) => void) | null = null;
    const early: Buffer[] = [];
    let pending: Buffer | null = null;
    let stderr = '';
    let info: BpfInfo | null = null;
    let fatal = '';
    let closed = false;
    let exited = false;
    const statsWaiters: Array<(s: BpfStats) => void> = [];
    const log =
      opts.log ??
      ((level: string, msg: string): void => {
        if (level === 'warn' || level === 'error') process.stderr.write(`portus-bpf: ${msg}\n`);
      });
    const report = (err: Error): void => {
      if (errorHandler !== null) errorHandler(err);
      else process.emitWarning(err.message, 'PortusIpcWarning');
    };
    const timer = setTimeout(() => {
      if (info === null) {
        child.kill('SIGKILL');
        reject(
          unavailable(`the BPF loader did not register portus within ${opts.startTimeoutMs ?? 20000} ms`),
        );
      }
    }, opts.startTimeoutMs ?? 20000);

    const onFrame = (kind: number, body: Buffer): void => {
      switch (kind) {
        case 0x4d: // 'M'
          if (handler === null) early.push(Buffer.from(body));
          else handler(body, BPF_ADDRESS);
          break;
        case 0x4c: // 'L'
          log(LEVELS[Math.min(body[0] ?? 2, 4)] ?? 'info', body.subarray(1).toString('utf8'));
          break;
        case 0x49: // 'I'
          info = JSON.parse(body.toString('utf8')) as BpfInfo;
          clearTimeout(timer);
          resolve(transport);
          break;
        case 0x53: // 'S'
          statsWaiters.shift()?.(JSON.parse(body.toString('utf8')) as BpfStats);
          break;
        case 0x45: // 'E'
          fatal = body.toString('utf8');
          break;
        default:
          break;
      }
    };

    child.stdout!.on('data', (chunk: Buffer) => {
      const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      while (buf.length - off >= 5) {
        const len = buf.readUInt32LE(off + 1);
        if (buf.length - off - 5 < len) break;
        try {
          onFrame(buf[off]!, buf.subarray(off + 5, off + 5 + len));
        } catch (err) {
          report(err as Error); // a throwing handler must not stop the relay
        }
        off += 5 + len;
      }
      pending = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-8000);
    });
    child.stdin!.on('error', () => {
      /* EPIPE after the loader died: reported by 'exit' */
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(unavailable(`cannot start ${loader}: ${err.message}`, err));
    });
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      const why = fatal || stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${code ?? signal}`;
      if (info === null) {
        reject(unavailable(`the BPF datapath could not be loaded: ${why}`));
      } else if (!closed) {
        report(unavailable(`the BPF loader exited (${code ?? signal}): ${why}`));
      }
    });

    // One frame buffer, reused while the pipe takes every write at once. A write the pipe could
    // not take whole stays queued in the stream, which then holds the buffer: the next frame gets
    // a fresh one (only under backpressure, when the loader falls behind).
    let frame = Buffer.allocUnsafe(FRAME_BUFFER);
    const writeFrame = (kind: number, msg: Uint8Array): void => {
      const n = 5 + msg.length;
      if (frame.length < n) frame = Buffer.allocUnsafe(Math.max(n, 2 * frame.length));
      frame[0] = kind;
      frame.writeUInt32LE(msg.length, 1);
      frame.set(msg, 5);
      const stdin = child.stdin!;
      stdin.write(frame.subarray(0, n));
      if (stdin.writableLength > 0) frame = Buffer.allocUnsafe(frame.length);
    };

    const transport: BpfTransport = {
      kind: 'bpf',
      get info(): BpfInfo {
        return info!;
      },
      pid: child.pid ?? 0,
      send(msg: Uint8Array, _to: Address): void {
        if (closed || exited) throw sendError('the BPF datapath transport is closed');
        writeFrame(0x4d, msg);
      },
      onMessage(h: ReceiveHandler): void {
        handler = h;
        for (const m of early.splice(0)) h(m, BPF_ADDRESS);
      },
      onError(h: (err: Error) => void): void {
        errorHandler = h;
      },
      stats(): Promise<BpfStats> {
        if (closed || exited) return Promise.reject(sendError('the BPF datapath transport is closed'));
        return new Promise((res) => {
          statsWaiters.push(res);
          writeFrame(0x53, new Uint8Array(0));
        });
      },
      close(): Promise<void> {
        if (closed) return Promise.resolve();
        closed = true;
        return new Promise<void>((res) => {
          if (exited) return res();
          const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(kill);
            res();
          });
          child.stdin!.end();
        });
      },
    };
  });
}

/** Type guard: the transport is the BPF datapath's. */
export function isBpfTransport(t: Transport): t is BpfTransport {
  return t.kind === 'bpf' && typeof (t as Partial<BpfTransport>).stats === 'function';
}
