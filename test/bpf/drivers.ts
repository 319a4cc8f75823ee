/**
 * Builds the two native script drivers of the differential test into a cache directory:
 * - `driver`: the BPF datapath's per-flow logic (native/bpf/machine.h + program.c) as userspace C;
 * - `libccp`: the real libccp (copied from ../shared/third_party/libccp) with test/bpf/libccp-driver.c.
 * And runs scripts through them and through the TypeScript datapath machine.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createDatapath, type Connection } from '../../src/datapath/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NATIVE = join(ROOT, 'native/bpf');
/** The upstream libccp sources (read-only; copied before building). */
export const LIBCCP_SRC = resolve(ROOT, '../shared/third_party/libccp');

/**
 * The `skip` option of a test that needs the libccp sources: a reason where they are missing,
 * false where they are there or under CI (which must have them: the test then fails).
 */
export const needsLibccp: string | false =
  !existsSync(LIBCCP_SRC) &&
  process.env.CI !== 'true' &&
  'libccp sources not found at ../shared/third_party/libccp';

export interface Drivers {
  driver: string;
  libccp: string;
}

function digest(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** Compile both drivers (cached by source hash). Throws when gcc or the libccp sources are missing. */
export function buildDrivers(): Drivers {
  const own = ['machine.h', 'program.h', 'script.h', 'program.c', 'driver.c'].map((f) => join(NATIVE, f));
  const ref = join(ROOT, 'test/bpf/libccp-driver.c');
  const libFiles = readdirSync(LIBCCP_SRC)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .map((f) => join(LIBCCP_SRC, f));
  const dir = join(tmpdir(), `portus-bpf-diff-${digest([...own, ref, ...libFiles])}`);
  const out = { driver: join(dir, 'driver'), libccp: join(dir, 'libccp-driver') };
  if (existsSync(out.driver) && existsSync(out.libccp)) return out;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cc = process.env.CC ?? 'gcc';
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out.driver, own[4]!, own[3]!, `-I${NATIVE}`]);
  const lib = join(dir, 'libccp');
  cpSync(LIBCCP_SRC, lib, { recursive: true, dereference: true });
  const srcs = ['ccp.c', 'machine.c', 'serialize.c', 'ccp_priv.c'].map((f) => join(lib, f));
  execFileSync(cc, [
    '-O2',
    '-std=gnu99',
    '-fgnu89-inline',
    '-D__LOG_ERROR__',
    '-w',
    '-o',
    out.libccp,
    ref,
    ...srcs,
    `-I${lib}`,
    `-I${NATIVE}`,
  ]);
  return out;
}

/** Run a script through a native driver; returns its output lines. */
export function runNative(bin: string, script: string): string[] {
  const r = spawnSync(bin, [], { input: script, maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} exited with ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The numeric primitives in libccp's struct order, as the script's `ack` line lists them. */
const PRIM_FIELDS = [
  'bytesAcked',
  'packetsAcked',
  'bytesMisordered',
  'packetsMisordered',
  'ecnBytes',
  'ecnPackets',
  'lostPktsSample',
  'bytesInFlight',
  'packetsInFlight',
  'sndCwnd',
  'bytesPending',
  'rttSampleUs',
  'rateOutgoing',
  'rateIncoming',
  'sndRate',
] as const;

/** Run a script through the TypeScript datapath machine, printing what the drivers print. */
export function runTs(script: string): string[] {
  const out: string[] = [];
  let now = 0;
  let sendResult = 0;
  let max = 0;
  let dp: ReturnType<typeof createDatapath> | null = null;
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  for (const line of script.split('\n')) {
    const w = line.split(' ');
    switch (w[0]) {
      case 'init':
        max = Number(w[2]);
        dp = createDatapath({
          now: () => now,
          ftoUs: Number(w[1]),
          maxConnections: max,
          maxPrograms: Number(w[3]),
          send: (m) => {
            out.push(m.readUInt16LE(0) === 5 ? 'ready' : `send ${hex(m)}`);
            return sendResult;
          },
          setCwnd: (c, v) => out.push(`cwnd ${c.sid} ${v}`),
          setRate: (c, v) => out.push(`rate ${c.sid} ${v}`),
        });
        dp.init();
        break;
      case 'time':
        now = Number(w[1]);
        break;
      case 'sendres':
        sendResult = Number(w[1]);
        break;
      case 'start': {
        let k = 1;
        while (k <= max && dp!.connection(k) !== null) k++;
        out.push(`start ${k <= max ? k : 0}`);
        dp!.startConnection({
          initCwnd: Number(w[1]),
          mss: Number(w[2]),
          srcIp: 1,
          srcPort: 2,
          dstIp: 3,
          dstPort: 4,
          congAlg: 'reno',
        });
        break;
      }
      case 'recv':
        out.push(`recv ${dp!.receive(Buffer.from(w[1]!, 'hex'))}`);
        break;
      case 'ack': {
        const c: Connection | null = dp!.connection(Number(w[1]));
        if (!c) break;
        const a = w.slice(2).map(Number);
        const p = c.prims;
        PRIM_FIELDS.forEach((k, i) => (p[k] = a[i]!));
        p.wasTimeout = a[15] !== 0;
        out.push(`invoke ${c.sid} ${dp!.invoke(c)}`);
        break;
      }
      case 'regs': {
        const c = dp!.connection(Number(w[1]));
        if (!c) break;
        const r = dp!.registers(c);
        out.push(
          `regs ${c.sid} ${[...r.report, ...r.control, ...r.implicit, ...r.tmp, ...r.local].join(' ')}`,
        );
        break;
      }
      case 'free':
        if (dp!.connection(Number(w[1]))) dp!.freeConnection(Number(w[1]));
        break;
      default:
        break;
    }
  }
  return out;
}
