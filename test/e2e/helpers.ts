// End-to-end helpers: `portus` commands as separate processes; waiting on their output lines
// (never sleeping), with generous safety timeouts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/portus.js');

export interface Proc {
  child: ChildProcess;
  /** stdout lines so far. */
  out: string[];
  /** stderr lines so far. */
  err: string[];
  /** Resolve with the first line (past or future) of `stream` matching `re`. */
  waitFor(re: RegExp, stream?: 'out' | 'err', ms?: number): Promise<string>;
  /** Resolve with the exit code. */
  exited: Promise<number | null>;
  /** Send a signal (no-op if already exited). */
  kill(sig?: NodeJS.Signals): void;
}

/** Run `node bin/portus.js ...args`. */
export function portus(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  const waiters: { re: RegExp; stream: 'out' | 'err'; resolve: (l: string) => void }[] = [];
  const feed = (stream: 'out' | 'err', line: string) => {
    (stream === 'out' ? out : err).push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].stream === stream && waiters[i].re.test(line)) {
        waiters[i].resolve(line);
        waiters.splice(i, 1);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', (l) => feed('out', l));
  createInterface({ input: child.stderr! }).on('line', (l) => feed('err', l));
  let done = false;
  const exited = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      done = true;
      r(code);
    }),
  );
  return {
    child,
    out,
    err,
    exited,
    kill(sig = 'SIGINT') {
      if (!done) child.kill(sig);
    },
    waitFor(re, stream = 'out', ms = 30_000) {
      const past = (stream === 'out' ? out : err).find((l) => re.test(l));
      if (past !== undefined) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no ${stream} line matching ${re} within ${ms} ms\nstdout:\n${out.join('\n')}\nstderr:\n${err.join('\n')}`,
              ),
            ),
          ms,
        );
        waiters.push({
          re,
          stream,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Wait for exit with a safety timeout (kills with SIGKILL and rejects after `ms`). */
export async function exitOf(p: Proc, ms = 60_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`process did not exit within ${ms} ms\nstderr:\n${p.err.join('\n')}`));
    }, ms);
  });
  try {
    return await Promise.race([p.exited, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh temporary directory. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'portus-e2e-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parsed JSON event lines of a `portus datapath` run. */
export interface DpEvent {
  t_us: number;
  ev: string;
  sid?: number;
  cwnd?: number;
  type?: string;
  uid?: number;
  code?: number;
  [k: string]: unknown;
}

export function events(p: Proc): DpEvent[] {
  return p.out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as DpEvent);
}

/** The set_cwnd values of one flow, in order. */
export function cwndTrace(evs: DpEvent[], sid: number): number[] {
  return evs.filter((e) => e.ev === 'set_cwnd' && e.sid === sid).map((e) => e.cwnd!);
}
