/**
 * Connecting the simulated senders to congestion control through the real stack: one
 * TypeScript libccp datapath per simulation (all flows share it, as all sockets share
 * ccp-kernel), driven on every ACK; its set-cwnd / set-rate callbacks steer the senders.
 *
 * Two agent links:
 * - {@link attachInProcessAgent}: the real agent runtime in this process over an in-process
 *   channel (every message encoded and decoded as bytes), each direction delayed by `ipcDelayUs`
 *   of simulated time through the simulator's event queue — fully deterministic.
 * - {@link attachRealtimeAgent}: a datapath bound to a Unix datagram socket talking to an agent
 *   process; used by `portus demo` with the simulation paced to the wall clock.
 * @module
 */
import { startAgent, silentLogger, type Agent, type Algorithm } from '../agent/index.ts';
import { getAlgorithm } from '../algorithms/index.ts';
import { createDatapath, type Connection, type Datapath } from '../datapath/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { createChannel, openUnix } from '../ipc/index.ts';
import type { Transport } from '../ipc/index.ts';
import { simFlowAddresses } from './addresses.ts';
import { guardAlgorithm, type AlgorithmFailure } from './guard.ts';
import type { Network } from './network.ts';
import type { ResolvedFlow } from './scenario.ts';

/** Message counters of an agent link. */
export interface LinkCounters {
  toAgent: number;
  fromAgent: number;
  /** Flows that found no free datapath connection slot (they ran with their initial window). */
  slotless: number;
}

/** Connection slots of the simulator's datapath (libccp's default table size). */
export const DATAPATH_SLOTS = 1024;

/** One warning line for every flow that found no free datapath slot, or null if none did. */
export function slotWarning(counters: LinkCounters, flows: number): string | null {
  if (counters.slotless === 0) return null;
  return (
    `${counters.slotless} of ${flows} flows exceed the datapath's ${DATAPATH_SLOTS} connection slots; ` +
    `they ran with their initial window, without congestion control`
  );
}

/** A datapath wired to a network, plus how to shut it down. */
export interface CcpLink {
  datapath: Datapath;
  counters: LinkCounters;
  /** Connection of each flow (null before it starts or when the table was full). */
  connections: (Connection | null)[];
  /** Release the agent / transport. */
  close(): Promise<void>;
}

function wireDatapath(
  net: Network,
  flows: readonly ResolvedFlow[],
  counters: LinkCounters,
  send: (msg: Buffer) => number,
  warn: (msg: string) => void,
): { datapath: Datapath; connections: (Connection | null)[] } {
  const connections: (Connection | null)[] = flows.map(() => null);
  const datapath = createDatapath({
    now: () => Math.floor(net.now),
    maxConnections: DATAPATH_SLOTS,
    send: (msg) => {
      counters.toAgent++;
      return send(msg);
    },
    setCwnd: (conn, bytes) => net.setCwnd(conn.user as number, bytes),
    setRate: (conn, bytesPerSec) => net.setRate(conn.user as number, bytesPerSec),
    log: (level, msg) => {
      if (level === 'error' || level === 'warn') warn(msg);
    },
  });
  datapath.init();
  net.setHooks({
    start(i) {
      const f = net.cfg.flows[i]!;
      const conn = datapath.startConnection({
        // the window the flow starts with, in whole packets as the kernel keeps it (CREATE's
        // init_cwnd is what ccp-kernel reports: snd_cwnd × mss), not the scenario's raw bytes
        initCwnd: net.flows[i]!.cwndBytes,
        mss: f.mss,
        ...simFlowAddresses(i),
        congAlg: flows[i]!.alg,
      });
      if (conn === null) {
        counters.slotless++; // reported once, as a total, by slotWarning
        return;
      }
      conn.user = i;
      conn.prims = net.prims[i]!;
      connections[i] = conn;
    },
    ack(i) {
      const c = connections[i];
      if (c) datapath.invoke(c);
    },
    timeout(i) {
      const c = connections[i];
      if (c) datapath.invoke(c);
    },
    stop(i) {
      const c = connections[i];
      if (c) {
        datapath.freeConnection(c.sid);
        connections[i] = null;
      }
    },
  });
  return { datapath, connections };
}

/** Build the algorithm objects for the agent: one per distinct name, first flow's params win. */
export function algorithmsFor(flows: readonly ResolvedFlow[]): ReturnType<typeof getAlgorithm>[] {
  const seen = new Map<string, ResolvedFlow>();
  for (const f of flows) {
    const prev = seen.get(f.alg);
    if (!prev) seen.set(f.alg, f);
    else if (JSON.stringify(prev.params) !== JSON.stringify(f.params)) {
      throw new PortusError(
        ErrorCodes.SIM_CONFIG,
        `flows using '${f.alg}' must share the same params (one agent serves them all)`,
      );
    }
  }
  return [...seen.values()].map((f) => getAlgorithm(f.alg, f.params));
}

/**
 * Attach the in-process agent: `startAgent` over a synchronous channel; each message is copied
 * and delivered `ipcDelayUs` later in simulated time, in both directions. The agent's clock is the
 * simulated clock. `custom` replaces the built-in algorithms looked up by name (each flow's `alg`
 * must then be the `name` of one of them). With `onFailure`, every exception thrown by algorithm
 * code is reported to it (see guard.ts).
 */
export function attachInProcessAgent(
  net: Network,
  flows: readonly ResolvedFlow[],
  ipcDelayUs: number,
  warn: (msg: string) => void = () => {},
  custom?: readonly Algorithm[],
  onFailure?: (f: AlgorithmFailure) => void,
): CcpLink & { agent: Agent } {
  const given = custom !== undefined && custom.length > 0 ? [...custom] : algorithmsFor(flows);
  const algorithms =
    onFailure === undefined ? given : given.map((a) => guardAlgorithm(a, () => net.now, onFailure));
  for (const f of flows) {
    if (!algorithms.some((a) => a.name === f.alg)) {
      throw new PortusError(
        ErrorCodes.SIM_CONFIG,
        `no algorithm named '${f.alg}' among those given to the agent`,
      );
    }
  }
  const ch = createChannel({ sync: true });
  const counters: LinkCounters = { toAgent: 0, fromAgent: 0, slotless: 0 };
  const agent = startAgent({
    transport: ch.agent,
    algorithms,
    defaultAlgorithm: algorithms[0]!.name,
    log: silentLogger,
    // the agent's clock (datapath.now() for algorithms, e.g. Cubic's epoch) is the simulated one
    now: () => net.now,
  });
  let dp: Datapath | null = null;
  // agent -> datapath: the channel hands us a private copy; deliver it after the delay
  ch.datapath.onMessage((buf) => {
    counters.fromAgent++;
    net.schedule(net.now + ipcDelayUs, () => dp!.receive(buf));
  });
  const wired = wireDatapath(
    net,
    flows,
    counters,
    (msg) => {
      const copy = Buffer.from(msg); // the datapath reuses its buffer after send returns
      net.schedule(net.now + ipcDelayUs, () => ch.datapath.send(copy, 'agent'));
      return 0;
    },
    warn,
  );
  dp = wired.datapath;
  return {
    ...wired,
    counters,
    agent,
    async close() {
      await agent.close();
      await ch.datapath.close();
    },
  };
}

/**
 * Attach a datapath that talks to an agent process over a Unix datagram socket. `catchUp()` must
 * bring the simulation to the current wall-clock time; it is called before each received message
 * is handed to the datapath so the message is processed "now".
 */
export async function attachRealtimeAgent(
  net: Network,
  flows: readonly ResolvedFlow[],
  opts: {
    agentPath: string;
    datapathPath: string;
    catchUp: () => void;
    warn?: ((msg: string) => void) | undefined;
  },
): Promise<CcpLink & { transport: Transport }> {
  const transport = await openUnix({ path: opts.datapathPath, peer: opts.agentPath });
  const counters: LinkCounters = { toAgent: 0, fromAgent: 0, slotless: 0 };
  const warn = opts.warn ?? (() => {});
  const wired = wireDatapath(
    net,
    flows,
    counters,
    (msg) => {
      try {
        transport.send(msg, opts.agentPath);
        return 0;
      } catch {
        return -1;
      }
    },
    warn,
  );
  transport.onMessage((buf) => {
    counters.fromAgent++;
    opts.catchUp();
    wired.datapath.receive(buf);
  });
  transport.onError?.((e) => warn(`transport: ${e.message}`));
  return {
    ...wired,
    counters,
    transport,
    async close() {
      await transport.close();
    },
  };
}
