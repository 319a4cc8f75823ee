/** Shared helpers of the transport tests: temporary directories and child processes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeCreate } from '../../src/wire/index.ts';

/** Absolute path of a fixture script. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A fresh private temporary directory (removed by the returned cleanup). */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `portus-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Run a fixture in its own Node process (TypeScript through tsx) and resolve with the JSON it
 * prints on its last stdout line. `uid`/`gid` run it as another user (tests run as root in CI).
 */
export function runNode(
  script: string,
  args: string[],
  opts: { uid?: number; gid?: number; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: opts.uid,
      gid: opts.gid,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${script} timed out; stderr: ${err}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', () => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`fixture ${script} printed no JSON; stdout: ${out} stderr: ${err}`));
      }
    });
  });
}

/** True when running as root (CI). */
export const isRoot = (): boolean => process.getuid?.() === 0;

/** Resolve with the next value `register` delivers, or reject after `ms`. */
export function nextEvent<T>(register: (fn: (v: T) => void) => void, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for an event')), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/**
 * A CREATE for flow `sid` (MSS 1448, initial window 10 MSS, source port `sid`): what the tests'
 * peers and the IPC benchmarks' Node drivers register their flows with.
 */
export function createMessage(sid: number): Buffer {
  return encodeCreate({
    sid,
    initCwnd: 14480,
    mss: 1448,
    srcIp: 0,
    srcPort: sid,
    dstIp: 0,
    dstPort: 0,
    congAlg: '',
  });
}

/** {@link createMessage} as hex, for the peer fixtures. */
export const createHex = (sid: number): string => createMessage(sid).toString('hex');
