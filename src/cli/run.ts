/**
 * `portus run <alg|./my-alg.(js|ts)>`: run the agent in the foreground with a built-in algorithm
 * or one from a file, printing one status line per second until SIGINT/SIGTERM.
 * @module
 */
import type { Command } from 'commander';
import {
  createLogger,
  parseLogLevel,
  silentLogger,
  LOG_LEVELS,
  STOP_SIGNALS,
  openIpc,
  startAgent,
  untilSignal,
  type Logger,
} from '../agent/index.ts';
import { algorithmNames, resolveAlgorithm } from '../algorithms/index.ts';
import { isLoopback, startDashboard, type Dashboard } from '../dashboard/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { isBpfTransport } from '../ipc/index.ts';

// the loader of algorithm files moved to src/algorithms (sweep workers use it too)
export { loadAlgorithmFile, resolveAlgorithm } from '../algorithms/index.ts';

/** Options of the `run` command. */
export interface RunOptions {
  ipc: string;
  socket?: string;
  debug?: boolean;
  quiet?: boolean;
  param: string[];
  maxPrograms?: string;
  netlinkPeerPort?: string;
  charDevice?: string;
  charWritePath?: string;
  bpfFtoUs?: string;
  /** `--dashboard [host:port]`: true without a value. */
  dashboard?: string | boolean;
  dashboardRemote?: boolean;
  /** debug, info, warn, error or silent (default: `PORTUS_LOG`, else info; debug with --debug). */
  logLevel?: string;
  maxFlows?: string;
  maxFlowsPerDatapath?: string;
  idleTimeout?: string;
  /** `--allow-uid`/`--allow-gid` values (each may be a comma-separated list). */
  allowUid?: string[];
  allowGid?: string[];
  socketMode?: string;
}

/** A positive integer option, or undefined (USAGE error otherwise). */
function countOption(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new PortusError(ErrorCodes.USAGE, `${name} must be an integer ≥ ${min}, got '${v}'`);
  }
  return n;
}

/** Parse `--allow-uid`/`--allow-gid` values: ids, comma-separated and/or repeated. */
export function parseIds(flag: string, list: readonly string[] = []): number[] {
  const out: number[] = [];
  for (const id of list.flatMap((v) => v.split(','))) {
    const n = /^\d+$/.test(id.trim()) ? Number(id.trim()) : NaN;
    if (!Number.isInteger(n) || n > 0xfffffffe) {
      throw new PortusError(ErrorCodes.USAGE, `${flag} expects numeric ids (e.g. 1000,1001), got '${id}'`);
    }
    out.push(n);
  }
  return out;
}

/** Parse `--socket-mode` (octal, e.g. 600 or 0660). */
export function parseSocketMode(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(v))
    throw new PortusError(
      ErrorCodes.USAGE,
      `--socket-mode expects an octal mode such as 600 or 0660, got '${v}'`,
    );
  return parseInt(v, 8);
}

/** Parse `k=v` strings into a record (USAGE error otherwise). */
export function parseParams(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new PortusError(ErrorCodes.USAGE, `--param expects k=v, got '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** The BPF loader's log lines through the agent's logger. */
function bpfLog(log: Logger): (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void {
  return (level, msg) => log[level](`bpf: ${msg}`);
}

/** Run the agent until SIGINT/SIGTERM. */
export async function run(spec: string, opts: RunOptions): Promise<void> {
  const kind = opts.ipc;
  if (kind !== 'unix' && kind !== 'netlink' && kind !== 'char' && kind !== 'bpf') {
    throw new PortusError(ErrorCodes.USAGE, `--ipc must be unix, netlink, char or bpf, got '${kind}'`);
  }
  const params = parseParams(opts.param);
  const algorithm = await resolveAlgorithm(spec, params);
  let maxPrograms: number | undefined;
  if (opts.maxPrograms !== undefined) {
    maxPrograms = Number(opts.maxPrograms);
    if (!Number.isInteger(maxPrograms) || maxPrograms < 1) {
      throw new PortusError(ErrorCodes.USAGE, `--max-programs must be a positive integer`);
    }
  }
  const level = parseLogLevel(opts.logLevel, opts.debug ? 'debug' : 'info');
  if (level === null) {
    throw new PortusError(
      ErrorCodes.USAGE,
      `${opts.logLevel !== undefined ? '--log-level' : 'PORTUS_LOG'} must be one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  const log = level === 'silent' ? silentLogger : createLogger(level);
  const idle = countOption('--idle-timeout', opts.idleTimeout, 0);
  const maxFlows = countOption('--max-flows', opts.maxFlows);
  const maxFlowsPerDatapath = countOption('--max-flows-per-datapath', opts.maxFlowsPerDatapath);
  const limits = {
    ...(maxFlows !== undefined ? { maxFlows } : {}),
    ...(maxFlowsPerDatapath !== undefined ? { maxFlowsPerDatapath } : {}),
    ...(idle !== undefined ? { idleTimeoutMs: idle * 1000 } : {}),
  };
  let netlinkPeerPort: number | undefined;
  if (opts.netlinkPeerPort !== undefined) {
    netlinkPeerPort = Number(opts.netlinkPeerPort);
    if (!Number.isInteger(netlinkPeerPort) || netlinkPeerPort < 0 || netlinkPeerPort > 0xffffffff) {
      throw new PortusError(ErrorCodes.USAGE, `--netlink-peer-port must be a u32`);
    }
  }
  let bpfFtoUs: number | undefined;
  if (opts.bpfFtoUs !== undefined) {
    bpfFtoUs = Number(opts.bpfFtoUs);
    if (!Number.isInteger(bpfFtoUs) || bpfFtoUs < 1) {
      throw new PortusError(ErrorCodes.USAGE, `--bpf-fto-us must be a positive integer`);
    }
  }
  const allowUids = parseIds('--allow-uid', opts.allowUid);
  const allowGids = parseIds('--allow-gid', opts.allowGid);
  const transport = await openIpc(kind, {
    // `@name`: the abstract-namespace address '\0name'
    socketPath: opts.socket?.startsWith('@') ? `\0${opts.socket.slice(1)}` : opts.socket,
    allowUids,
    allowGids,
    socketMode: parseSocketMode(opts.socketMode),
    netlinkPeerPort,
    charDevice: opts.charDevice,
    charWritePath: opts.charWritePath,
    bpf: { ...(bpfFtoUs !== undefined ? { ftoUs: bpfFtoUs } : {}), log: bpfLog(log) },
  });
  let agent;
  try {
    agent = startAgent({
      transport,
      algorithms: [algorithm],
      debug: opts.debug,
      log,
      params,
      maxPrograms,
      limits,
    });
  } catch (e) {
    await transport.close();
    throw e;
  }
  const where =
    kind === 'unix'
      ? `unix:${opts.socket ?? '/tmp/ccp/portus'}`
      : kind === 'char'
        ? `char:${opts.charDevice ?? '/dev/ccpkp'}`
        : kind === 'bpf'
          ? `bpf:${isBpfTransport(transport) ? `${transport.info.name} (${transport.info.variant})` : 'portus'}`
          : `netlink:${netlinkPeerPort ?? 0}`;
  const progs = agent
    .programs()
    .map((p) => `${p.uid}=${p.name}`)
    .join(', ');
  process.stdout.write(
    `portus: running '${algorithm.name}' on ${where} (programs ${progs}); Ctrl-C to stop\n`,
  );
  let dashboard: Dashboard | null = null;
  if (opts.dashboard !== undefined && opts.dashboard !== false) {
    try {
      dashboard = await startDashboard(agent, {
        listen: opts.dashboard === true ? undefined : opts.dashboard,
        allowRemote: opts.dashboardRemote === true,
        title: `Portus agent: ${algorithm.name} on ${where}`,
      });
    } catch (e) {
      await agent.close();
      throw e;
    }
    if (!isLoopback(dashboard.host)) {
      log.warn(`the dashboard is served on ${dashboard.host}, not loopback (--dashboard-remote)`);
    }
    process.stdout.write(`portus: dashboard at ${dashboard.url}\n`);
  }
  let timer: ReturnType<typeof setInterval> | null = null;
  if (!opts.quiet) {
    let last = agent.stats().reports;
    timer = setInterval(() => {
      const s = agent.stats();
      process.stdout.write(
        `portus: ${s.flows} flow(s) on ${s.datapaths} datapath(s), ${s.reports - last} reports/s ` +
          `(${s.reports} total, ${s.dropped} dropped, ${s.errors} errors)\n`,
      );
      last = s.reports;
    }, 1000);
  }
  // counted before untilSignal's handler (registered after this one) closes them
  let flowsAtStop = 0;
  for (const sig of STOP_SIGNALS) {
    process.once(sig, () => {
      flowsAtStop = agent.stats().flows;
    });
  }
  await untilSignal(agent);
  if (timer) clearInterval(timer);
  await dashboard?.close();
  const s = agent.stats();
  process.stdout.write(
    `portus: stopped after ${s.reports} reports (${s.messagesIn} in, ${s.messagesOut} out); ` +
      `closed ${flowsAtStop} live flows\n`,
  );
}

/** Register `portus run`. */
export function register(program: Command): void {
  program
    .command('run')
    .description('run the agent in the foreground with a built-in algorithm or one from a .ts/.js file')
    .argument(
      '<algorithm>',
      `built-in algorithm (${algorithmNames().join(', ')}), or path to a .ts/.js file exporting one`,
    )
    .option('--ipc <kind>', 'transport: unix, netlink, char or bpf (eBPF datapath, docs/bpf.md)', 'unix')
    .option('--socket <path>', 'unix socket path of the agent (default /tmp/ccp/portus)')
    .option(
      '--allow-uid <uids>',
      'unix: also serve datapaths running as these uids (comma-separated, repeatable; root and our uid always)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option(
      '--allow-gid <gids>',
      'unix: also serve datapaths whose primary gid is one of these (comma-separated, repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option('--socket-mode <mode>', 'unix: mode of the socket file, octal (default 600)')
    .option('--debug', 'log every message in and out, decoded')
    .option('--quiet', 'no status line every second')
    .option(
      '--log-level <level>',
      `log level: ${LOG_LEVELS.join(', ')} (default: $PORTUS_LOG, else info; repeated lines are rate-limited)`,
    )
    .option('--max-flows <n>', 'live flows over all datapaths (default 262144); further CREATEs are refused')
    .option('--max-flows-per-datapath <n>', 'live flows per datapath (default 65535)')
    .option(
      '--idle-timeout <s>',
      'forget a datapath with no flows that has sent nothing for this long (default 60; 0 = never)',
    )
    .option(
      '--param <k=v>',
      'algorithm parameter (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option('--max-programs <n>', 'programs a datapath holds (default 9, as ccp-kernel)')
    .option('--char-device <path>', 'char transport: the device (default /dev/ccpkp)')
    .option(
      '--char-write-path <path>',
      'char transport: write here instead of the device (FIFO stand-in; for tests)',
    )
    .option(
      '--dashboard [host:port]',
      'serve a live dashboard (default 127.0.0.1 on a free port; the URL with its token is printed)',
    )
    .option('--dashboard-remote', 'allow --dashboard on a non-loopback address')
    .option(
      '--netlink-peer-port <port>',
      'netlink transport: port playing the kernel (default 0 = the kernel; for tests)',
    )
    .option('--bpf-fto-us <us>', 'bpf transport: fallback timeout in µs (default 1000, as ccp-kernel)')
    .action(async (alg: string, opts: RunOptions) => {
      await run(alg, opts);
    });
}
