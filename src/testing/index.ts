/**
 * `portus/testing`: run an algorithm against the TypeScript libccp-compatible datapath with
 * scripted ACKs in simulated time. Everything goes through the real agent runtime and real wire
 * bytes over the in-process channel transport; only the clock is simulated.
 *
 * ```ts
 * import { createTestbed } from 'portus/testing';
 * const tb = await createTestbed({ algorithm: getAlgorithm('reno') });
 * const f = await tb.startFlow();
 * await f.rtts(5);           // five RTTs of ACKs, a window's worth each
 * await f.loss();            // one ACK reporting a loss
 * console.log(f.cwnd, f.cwndTrace);
 * await tb.close();
 * ```
 * @module
 */
import {
  ipv4ToRaw,
  portToRaw,
  startAgent,
  silentLogger,
  type Agent,
  type AlgClass,
  type Algorithm,
  type Logger,
} from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import {
  createDatapath,
  zeroPrimitives,
  type Connection,
  type Datapath,
  type FlowInfo,
  type Primitives,
} from '../datapath/index.ts';
import { createChannel } from '../ipc/index.ts';
import { decode, type Message } from '../wire/index.ts';

/** Options of {@link createTestbed}. */
export interface TestbedOptions {
  /** The algorithm(s) under test: portus-style objects and/or classic AlgBase subclasses. */
  algorithm: Algorithm | AlgClass | ReadonlyArray<Algorithm | AlgClass>;
  /** Default algorithm name when several are given. */
  defaultAlgorithm?: string | undefined;
  /** Parameters for classic classes (`this.params`). */
  params?: Readonly<Record<string, string>> | undefined;
  /** MSS in bytes (default 1448). */
  mss?: number | undefined;
  /** Initial window in bytes (default 10 × MSS). */
  initCwnd?: number | undefined;
  /** RTT sample of default ACKs, µs (default 10 000). */
  rttUs?: number | undefined;
  /** Datapath program-table slots (default 10, as ccp-kernel: 9 usable). */
  programSlots?: number | undefined;
  /** Agent program limit (default 9). */
  maxPrograms?: number | undefined;
  /** Log every message (agent debug log). */
  debug?: boolean | undefined;
  /** Agent logger (default: silent unless `debug`). */
  log?: Logger | undefined;
}

/** A message seen on the channel. */
export interface TracedMessage {
  /** Simulated time, µs. */
  tUs: number;
  /** 'up' = datapath → agent, 'down' = agent → datapath. */
  dir: 'up' | 'down';
  msg: Message;
}

/** ACK overrides: any primitive, plus how far to advance the clock before this ACK. */
export type AckSpec = Partial<Primitives> & {
  /** µs to advance before the ACK (default: one RTT divided by the window in packets). */
  advanceUs?: number;
};

/** One flow in the test datapath. */
export interface TestFlow {
  readonly sid: number;
  readonly conn: Connection;
  /** Current window in bytes, as the datapath last applied it (set_cwnd). */
  readonly cwnd: number;
  /** Current rate in bytes/s, as the datapath last applied it (set_rate; 0 = never). */
  readonly rate: number;
  /** Every set_cwnd that changed the window: `{ tUs, cwnd }`. */
  readonly cwndTrace: ReadonlyArray<{ tUs: number; cwnd: number }>;
  /** Every set_rate that changed the rate. */
  readonly rateTrace: ReadonlyArray<{ tUs: number; rate: number }>;
  /** Reports (MEASUREs with fields) this flow sent. */
  readonly reports: number;
  /** One ACK (defaults: one MSS acked, the testbed RTT); resolves with libccp's invoke code. */
  ack(spec?: AckSpec): Promise<number>;
  /** `n` ACKs with the same overrides. */
  acks(n: number, spec?: AckSpec): Promise<void>;
  /**
   * `n` round trips: each a window's worth of ACKs (window at the start of the round trip) spread
   * evenly over one RTT (the spec's `rttSampleUs`, else the flow's RTT).
   */
  rtts(n: number, spec?: AckSpec): Promise<void>;
  /** One ACK carrying a loss: nothing acked, one packet SACKed and one lost. */
  loss(spec?: AckSpec): Promise<number>;
  /** One invocation with `wasTimeout` set (an RTO), nothing acked. */
  timeout(spec?: AckSpec): Promise<number>;
  /** Close the flow in the datapath (the agent sees the close signal). */
  close(): Promise<void>;
}

/** A running test setup: agent + datapath over an in-process channel, simulated clock. */
export interface Testbed {
  readonly agent: Agent;
  /** The current datapath machine (replaced by {@link restartDatapath}). */
  readonly datapath: Datapath;
  /** Every message on the channel, decoded, in order. */
  readonly messages: ReadonlyArray<TracedMessage>;
  /** Simulated time, µs. */
  now(): number;
  /** Advance simulated time. */
  advance(us: number): void;
  /** Start a flow (CREATE) and wait until the agent has answered. */
  startFlow(info?: Partial<FlowInfo> & { rttUs?: number }): Promise<TestFlow>;
  /** Replace the datapath by a fresh one that sends READY (old flows are gone). */
  restartDatapath(): Promise<void>;
  /** Let all queued messages be delivered. */
  settle(): Promise<void>;
  /** Close the agent (calling flows' close hooks) and the channel. */
  close(): Promise<void>;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Create a testbed: starts the agent and a datapath (which sends READY) and waits for the INSTALLs. */
export async function createTestbed(opts: TestbedOptions): Promise<Testbed> {
  const mss = opts.mss ?? 1448;
  const initCwnd = opts.initCwnd ?? 10 * mss;
  const rttUs = opts.rttUs ?? 10_000;
  let nowUs = 0;
  const messages: TracedMessage[] = [];
  const ch = createChannel();
  const algorithms = Array.isArray(opts.algorithm)
    ? (opts.algorithm as ReadonlyArray<Algorithm | AlgClass>)
    : [opts.algorithm as Algorithm | AlgClass];
  const agent = startAgent({
    transport: ch.agent,
    algorithms,
    defaultAlgorithm: opts.defaultAlgorithm,
    params: opts.params,
    debug: opts.debug,
    log: opts.log ?? (opts.debug ? undefined : silentLogger),
    maxPrograms: opts.maxPrograms,
    now: () => nowUs,
  });

  interface FlowRec {
    cwnd: number;
    rate: number;
    rttUs: number;
    reports: number;
    cwndTrace: { tUs: number; cwnd: number }[];
    rateTrace: { tUs: number; rate: number }[];
  }
  const recs = new Map<Connection, FlowRec>();
  let sent = 0;

  const makeMachine = (): Datapath =>
    createDatapath({
      maxPrograms: opts.programSlots ?? 10,
      now: () => nowUs,
      send(msg: Buffer): number {
        const m = decode(msg);
        messages.push({ tUs: nowUs, dir: 'up', msg: m });
        if (m.type === 1 && m.numFields > 0) {
          for (const [c, r] of recs) if (c.sid === m.sid && dp.connection(m.sid) === c) r.reports++;
        }
        ch.datapath.send(msg, 'channel');
        sent++;
        return 0;
      },
      setCwnd(conn: Connection, bytes: number): void {
        const r = recs.get(conn);
        if (r === undefined) return;
        if (bytes !== r.cwnd) r.cwndTrace.push({ tUs: nowUs, cwnd: bytes });
        r.cwnd = bytes;
        conn.prims.sndCwnd = bytes;
      },
      setRate(conn: Connection, bps: number): void {
        const r = recs.get(conn);
        if (r === undefined) return;
        if (bps !== r.rate) r.rateTrace.push({ tUs: nowUs, rate: bps });
        r.rate = bps;
        conn.prims.sndRate = bps;
      },
    });

  let dp = makeMachine();
  ch.datapath.onMessage((buf) => {
    try {
      messages.push({ tUs: nowUs, dir: 'down', msg: decode(buf) });
    } catch {
      // undecodable messages are still handed to the datapath, which rejects them like libccp
    }
    dp.receive(buf);
  });

  const start = async (): Promise<void> => {
    const rc = dp.init();
    if (rc !== 0) throw new PortusError(ErrorCodes.DATAPATH, `datapath init failed (${rc})`);
    await settle();
  };
  await start();

  const makeFlow = (conn: Connection, rec: FlowRec): TestFlow => {
    const invoke = async (spec: AckSpec | undefined, base: Partial<Primitives>): Promise<number> => {
      const pk = Math.max(1, Math.floor(rec.cwnd / mss));
      nowUs += spec?.advanceUs ?? Math.max(1, Math.floor(rec.rttUs / pk));
      const p = conn.prims;
      Object.assign(p, zeroPrimitives());
      p.bytesAcked = mss;
      p.packetsAcked = 1;
      p.rttSampleUs = rec.rttUs;
      p.sndCwnd = rec.cwnd;
      p.sndRate = rec.rate;
      p.bytesInFlight = rec.cwnd;
      p.packetsInFlight = pk;
      p.rateOutgoing = p.rateIncoming = Math.floor((rec.cwnd * 1e6) / rec.rttUs);
      Object.assign(p, base);
      if (spec) {
        for (const k of Object.keys(spec) as (keyof AckSpec)[]) {
          if (k !== 'advanceUs') (p as unknown as Record<string, unknown>)[k] = spec[k];
        }
      }
      const before = sent;
      const rc = dp.invoke(conn);
      if (sent !== before) await settle();
      return rc;
    };
    const f: TestFlow = {
      sid: conn.sid,
      conn,
      get cwnd() {
        return rec.cwnd;
      },
      get rate() {
        return rec.rate;
      },
      cwndTrace: rec.cwndTrace,
      rateTrace: rec.rateTrace,
      get reports() {
        return rec.reports;
      },
      ack: (spec) => invoke(spec, {}),
      async acks(n, spec) {
        for (let i = 0; i < n; i++) await invoke(spec, {});
      },
      async rtts(n, spec) {
        for (let i = 0; i < n; i++) {
          // a window's worth of ACKs, evenly spread so that the round trip spans exactly one RTT
          const pk = Math.max(1, Math.floor(rec.cwnd / mss));
          const rtt = spec?.rttSampleUs ?? rec.rttUs;
          for (let j = 0; j < pk; j++) {
            const step = Math.floor(((j + 1) * rtt) / pk) - Math.floor((j * rtt) / pk);
            await invoke(spec?.advanceUs !== undefined ? spec : { ...spec, advanceUs: step }, {});
          }
        }
      },
      loss: (spec) =>
        invoke(spec, {
          bytesAcked: 0,
          packetsAcked: 0,
          packetsMisordered: 1,
          bytesMisordered: mss,
          lostPktsSample: 1,
        }),
      timeout: (spec) => invoke(spec, { bytesAcked: 0, packetsAcked: 0, wasTimeout: true }),
      async close() {
        dp.freeConnection(conn.sid);
        recs.delete(conn);
        await settle();
      },
    };
    return f;
  };

  return {
    agent,
    get datapath() {
      return dp;
    },
    messages,
    now: () => nowUs,
    advance(us: number) {
      nowUs += us;
    },
    async startFlow(info = {}) {
      const fi: FlowInfo = {
        initCwnd: info.initCwnd ?? initCwnd,
        mss: info.mss ?? mss,
        // default 127.0.0.1:(40000 + n) > 127.0.0.1:5201, in network byte order as ccp-kernel sends them
        srcIp: info.srcIp ?? ipv4ToRaw('127.0.0.1'),
        srcPort: info.srcPort ?? portToRaw(40000 + recs.size),
        dstIp: info.dstIp ?? ipv4ToRaw('127.0.0.1'),
        dstPort: info.dstPort ?? portToRaw(5201),
        congAlg: info.congAlg ?? '',
      };
      const rec: FlowRec = {
        cwnd: fi.initCwnd,
        rate: 0,
        rttUs: info.rttUs ?? rttUs,
        reports: 0,
        cwndTrace: [],
        rateTrace: [],
      };
      // Register before starting so that callbacks during start find the record.
      const conn = dp.startConnection(fi);
      if (conn === null) throw new PortusError(ErrorCodes.DATAPATH, 'datapath connection table is full');
      conn.prims.sndCwnd = fi.initCwnd;
      recs.set(conn, rec);
      await settle();
      return makeFlow(conn, rec);
    },
    async restartDatapath() {
      recs.clear();
      dp = makeMachine();
      await start();
    },
    settle,
    async close() {
      await agent.close();
      await ch.datapath.close();
    },
  };
}
