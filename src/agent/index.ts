/**
 * The agent: algorithm API (classic {@link AlgBase} style and portus-style {@link Algorithm}
 * objects) and the runtime that serves datapaths over a transport.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import { openTransport, type BpfOptions, type Transport } from '../ipc/index.ts';
import { isAlgClass, type AlgClass } from './classic.ts';
import type { Logger } from './log.ts';
import { startAgent, type Agent } from './runtime.ts';
import type { Algorithm } from './types.ts';

export { AlgBase, classicAlgorithm, isAlgClass, type AlgClass } from './classic.ts';
export { flowEndpoints, ipv4String, ipv4ToRaw, portNumber, portToRaw } from './address.ts';
export {
  createLogger,
  silentLogger,
  RateLimiter,
  ExceptionTally,
  parseLogLevel,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
  type RateLimiterOptions,
} from './log.ts';
export { formatMessage } from './format.ts';
export type { AgentEvent, AgentEventListener, FlowView } from './observe.ts';
export {
  startAgent,
  ProgramsError,
  DEFAULT_LIMITS,
  type DatapathLimits,
  type Agent,
  type AgentOptions,
  type AgentStats,
  type ProgramInfo,
} from './runtime.ts';
export type {
  Algorithm,
  DatapathHandle,
  DatapathInfo,
  FieldUpdates,
  FieldValue,
  Flow,
  Report,
  ReportBase,
} from './types.ts';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Log every message in and out. */
  debug?: boolean | undefined;
  /**
   * Resolve only when the agent has stopped (on SIGINT/SIGTERM/SIGHUP, after a clean shutdown);
   * otherwise resolve with the running agent at once. Default false.
   */
  blocking?: boolean | undefined;
  /** Unix socket path of the agent (default `/tmp/ccp/portus`). */
  socketPath?: string | undefined;
  /** unix: besides root and our own uid, uids whose datagrams are served. */
  allowUids?: readonly number[] | undefined;
  /** unix: gids whose datagrams are served. */
  allowGids?: readonly number[] | undefined;
  /** unix: mode of the socket file (default 0o600). */
  socketMode?: number | undefined;
  /** Parameters for classic classes (`this.params`). */
  params?: Readonly<Record<string, string>> | undefined;
  /** Where to log. */
  log?: Logger | undefined;
  /** Program-table size of the datapaths (default 9). */
  maxPrograms?: number | undefined;
}

/**
 * Open a transport and run one algorithm on it (the original bindings' entry point).
 *
 * ```ts
 * await connect('unix', MyAlg, { debug: true, blocking: true });
 * ```
 */
export async function connect(
  ipc: 'unix' | 'netlink' | 'char' | 'bpf' | Transport,
  alg: AlgClass | Algorithm,
  opts: ConnectOptions = {},
): Promise<Agent> {
  if (!isAlgClass(alg) && (typeof alg !== 'object' || alg === null || typeof alg.newFlow !== 'function')) {
    throw new PortusError(ErrorCodes.ALGORITHM, 'connect() needs an AlgBase subclass or an Algorithm object');
  }
  const transport =
    typeof ipc === 'string'
      ? await openIpc(ipc, {
          socketPath: opts.socketPath,
          allowUids: opts.allowUids,
          allowGids: opts.allowGids,
          socketMode: opts.socketMode,
        })
      : ipc;
  let agent: Agent;
  try {
    agent = startAgent({
      transport,
      algorithms: [alg],
      debug: opts.debug,
      log: opts.log,
      params: opts.params,
      maxPrograms: opts.maxPrograms,
    });
  } catch (e) {
    await transport.close();
    throw e;
  }
  if (opts.blocking) await untilSignal(agent);
  return agent;
}

/** Where {@link openIpc} opens its transport. */
export interface IpcLocation {
  /** unix: the agent's socket path (default `/tmp/ccp/portus`). */
  socketPath?: string | undefined;
  /** unix: besides root and our own uid, uids whose datagrams are served (SO_PASSCRED). */
  allowUids?: readonly number[] | undefined;
  /** unix: gids whose datagrams are served. */
  allowGids?: readonly number[] | undefined;
  /** unix: mode of the socket file (default 0o600, whatever the umask). */
  socketMode?: number | undefined;
  /** netlink: the port that plays the kernel (default 0 = the kernel; tests use another socket). */
  netlinkPeerPort?: number | undefined;
  /** char: the character device (default `/dev/ccpkp`). */
  charDevice?: string | undefined;
  /** char: write to this path instead of the device (a FIFO-pair stand-in in tests). */
  charWritePath?: string | undefined;
  /** bpf: options of the eBPF datapath (loader directory, fallback timeout; docs/bpf.md). */
  bpf?: BpfOptions | undefined;
}

/** Open a transport by kind. */
export function openIpc(
  kind: 'unix' | 'netlink' | 'char' | 'bpf',
  where: IpcLocation = {},
): Promise<Transport> {
  if (kind === 'bpf') return openTransport('bpf', where.bpf ?? {});
  if (kind === 'unix') {
    return openTransport('unix', {
      ...(where.socketPath ? { path: where.socketPath } : {}),
      ...(where.allowUids ? { allowUids: where.allowUids } : {}),
      ...(where.allowGids ? { allowGids: where.allowGids } : {}),
      ...(where.socketMode !== undefined ? { socketMode: where.socketMode } : {}),
    });
  }
  if (kind === 'netlink') {
    return openTransport(
      'netlink',
      where.netlinkPeerPort !== undefined ? { peerPort: where.netlinkPeerPort } : {},
    );
  }
  return openTransport('char', {
    ...(where.charDevice ? { path: where.charDevice } : {}),
    ...(where.charWritePath ? { writePath: where.charWritePath } : {}),
  });
}

/** The signals that stop an agent or datapath cleanly. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Wait for SIGINT, SIGTERM or SIGHUP, then close the agent cleanly (flows' close hooks, queued
 * messages drained, transport closed, socket file removed). Resolves once closed.
 */
export function untilSignal(agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      agent.close().then(resolve, reject);
    };
    for (const s of STOP_SIGNALS) process.on(s, stop);
  });
}
