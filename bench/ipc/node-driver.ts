/**
 * Agent IPC benchmark: the real agent (`portus run aimd`, its own process) over a Unix datagram
 * socket, driven by this process with pre-encoded MEASURE reports on the same unix datagram addon.
 * aimd answers every report with one UPDATE_FIELDS, so:
 *
 *  - round trip = MEASURE sent → UPDATE_FIELDS received, one at a time (median, p99), with 1 flow
 *    and with 1000 flows (reports rotating over the flows);
 *  - sustained reports/s = answered reports per second with up to `WINDOW` reports in flight, with
 *    1 and 1000 flows.
 *
 * Printed next to the raw baselines of the same binding measured in the same run
 * (`bench/ipc/raw.ts`: bare datagram ping-pong and one-way flood between two processes).
 *
 * Run: `node --import tsx bench/ipc/run.ts [roundTrips] [reports] [window]`. The window defaults to
 * 8 reports in flight: Linux queues at most `net.unix.max_dgram_qlen` (default 10) datagrams per
 * unix socket, and beyond that senders get EAGAIN.
 * @module
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rawUnixSocket, type RawUnixSocket } from '../../src/ipc/unix.ts';
import { encodeMeasure, encodeReady, MsgType } from '../../src/wire/index.ts';
import { createMessage, tempDir } from '../../test/ipc/helpers.ts';
import { percentile, rawFlood, rawPingPong } from './raw.ts';

const ROUND_TRIPS = Number(process.argv[2] ?? 20_000);
const REPORTS = Number(process.argv[3] ?? 300_000);
const WINDOW = Number(process.argv[4] ?? 8);
const EAGAIN = -11;
const BIN = fileURLToPath(new URL('../../bin/portus.js', import.meta.url));

interface Session {
  sock: RawUnixSocket;
  onReply: ((buf: Buffer) => void) | null;
  agentPath: string;
  stop(): Promise<void>;
}

/** Start `portus run aimd` and register `flows` flows on it from our socket. */
async function startAgent(flows: number): Promise<Session> {
  const { dir, cleanup } = tempDir('bench-agent');
  const agentPath = join(dir, 'agent.sock');
  const child = spawn(process.execPath, [BIN, 'run', 'aimd', '--socket', agentPath, '--quiet'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`agent exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('portus: running')) resolve();
    });
  });
  const s: Session = {
    sock: null as unknown as RawUnixSocket,
    onReply: null,
    agentPath,
    async stop() {
      s.sock.close();
      child.removeAllListeners('exit');
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
      cleanup();
    },
  };
  let changeProgs = 0;
  let setupDone: (() => void) | null = null;
  s.sock = rawUnixSocket(
    (status, buf) => {
      if (status < 0 || buf === null) return;
      if (s.onReply !== null) s.onReply(buf);
      else if (buf.readUInt16LE(0) === MsgType.CHANGE_PROG && ++changeProgs === flows) setupDone?.();
    },
    join(dir, 'dp.sock'),
  );
  await new Promise<void>((resolve) => {
    setupDone = resolve;
    s.sock.sendto(encodeReady(0), agentPath);
    for (let sid = 1; sid <= flows; sid++) {
      const c = createMessage(sid);
      while (s.sock.sendto(c, agentPath) === EAGAIN) {
        /* the agent's queue is full for a moment: retry */
      }
    }
  });
  return s;
}

/** aimd's report: acked, sacked, loss, timeout, rtt, inflight. */
function reports(flows: number): Buffer[] {
  const out: Buffer[] = [];
  for (let sid = 1; sid <= flows; sid++) out.push(encodeMeasure(sid, 1, [14480n, 0n, 0n, 0n, 10000n, 10n]));
  return out;
}

async function roundTrips(flows: number, n: number): Promise<{ p50: number; p99: number }> {
  const s = await startAgent(flows);
  try {
    const msgs = reports(flows);
    const warm = Math.min(2000, n);
    const rtts = new Float64Array(n);
    let i = 0;
    let t0 = 0n;
    await new Promise<void>((resolve) => {
      s.onReply = (buf) => {
        if (buf.readUInt16LE(0) !== MsgType.UPDATE_FIELDS) return;
        const t = process.hrtime.bigint();
        if (i >= warm) rtts[i - warm] = Number(t - t0) / 1000;
        i++;
        if (i === n + warm) return resolve();
        t0 = process.hrtime.bigint();
        s.sock.sendto(msgs[i % flows], s.agentPath);
      };
      t0 = process.hrtime.bigint();
      s.sock.sendto(msgs[0], s.agentPath);
    });
    const sorted = rtts.sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  } finally {
    await s.stop();
  }
}

/**
 * Send `n` datagrams from `sock` to `to` (cycling over `msgs`) with at most WINDOW unanswered, and
 * resolve with answers per second; `setReply` installs the handler that counts answers.
 */
function pipelined(
  sock: RawUnixSocket,
  to: string,
  msgs: Buffer[],
  n: number,
  setReply: (fn: (buf: Buffer) => void) => void,
  isAnswer: (buf: Buffer) => boolean,
): Promise<number> {
  let sent = 0;
  let answered = 0;
  let first = 0n;
  let last = 0n;
  return new Promise<number>((resolve) => {
    let pumping = false;
    const pump = (): void => {
      pumping = false;
      while (sent < n && sent - answered < WINDOW) {
        if (sock.sendto(msgs[sent % msgs.length], to) === EAGAIN) break;
        sent++;
      }
      if (sent < n && sent - answered >= WINDOW) return; // answers will pump again
      if (sent < n && !pumping) {
        pumping = true;
        setImmediate(pump);
      }
    };
    setReply((buf) => {
      if (!isAnswer(buf)) return;
      if (answered === 0) first = process.hrtime.bigint();
      answered++;
      last = process.hrtime.bigint();
      if (answered === n) return resolve((answered - 1) / (Number(last - first) / 1e9));
      if (!pumping && sent - answered < WINDOW / 2) pump();
    });
    pump();
  });
}

async function throughput(flows: number, n: number): Promise<number> {
  const s = await startAgent(flows);
  try {
    return await pipelined(
      s.sock,
      s.agentPath,
      reports(flows),
      n,
      (fn) => (s.onReply = fn),
      (buf) => buf.readUInt16LE(0) === MsgType.UPDATE_FIELDS,
    );
  } finally {
    await s.stop();
  }
}

/** The same pipelined exchange against the raw echo peer of bench/ipc/raw-echo.ts. */
async function rawPipelined(n: number): Promise<number> {
  const { dir, cleanup } = tempDir('bench-rawpipe');
  const echo = join(dir, 'echo');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./raw-echo.ts', import.meta.url)), echo],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  let onReply: (buf: Buffer) => void = () => {};
  const sock = rawUnixSocket(
    (status, buf) => {
      if (status >= 0 && buf !== null) onReply(buf);
    },
    join(dir, 'bench'),
  );
  try {
    return await pipelined(
      sock,
      echo,
      reports(1),
      n,
      (fn) => (onReply = fn),
      () => true,
    );
  } finally {
    sock.close();
    child.stdin!.end();
    child.kill('SIGTERM');
    cleanup();
  }
}

const f1 = (x: number) => x.toFixed(1);
const k = (x: number) => `${Math.round(x / 1000)}k`;

console.log(`bench/ipc — agent over unix datagram sockets (unix datagram addon), node ${process.version}`);
const raw = await rawPingPong({ n: ROUND_TRIPS, size: 64 });
const flood = await rawFlood({ n: REPORTS, size: 64 });
const rawPipe = await rawPipelined(REPORTS);
console.log(`raw ping-pong (64 B):          p50 ${f1(raw.p50Us)} µs   p99 ${f1(raw.p99Us)} µs`);
console.log(`raw one-way flood (64 B):      ${k(flood.perSecond)} datagrams/s`);
console.log(`raw pipelined echo (64 B, window ${WINDOW}): ${k(rawPipe)} answers/s`);
for (const flows of [1, 1000]) {
  const rt = await roundTrips(flows, ROUND_TRIPS);
  console.log(
    `agent round trip, ${String(flows).padStart(4)} flow(s): p50 ${f1(rt.p50)} µs (${(rt.p50 / raw.p50Us).toFixed(2)}x raw)   ` +
      `p99 ${f1(rt.p99)} µs (${(rt.p99 / raw.p99Us).toFixed(2)}x raw)   target p50 ≤ 1.5x raw`,
  );
}
for (const flows of [1, 1000]) {
  const rps = await throughput(flows, REPORTS);
  console.log(
    `agent reports/s, ${String(flows).padStart(4)} flow(s): ${k(rps)} reports/s answered ` +
      `(${(rps / rawPipe).toFixed(2)}x raw pipelined echo, ${(rps / flood.perSecond).toFixed(2)}x raw flood)   target ≥ 100k`,
  );
}
