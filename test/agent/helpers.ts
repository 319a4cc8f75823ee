// Test helpers: an agent on one end of the in-process channel, the test playing the datapath on
// the other end with real encoded messages, and a logger that records lines.
import { startAgent, type Agent, type AgentOptions, type Logger } from '../../src/agent/index.ts';
import { createChannel } from '../../src/ipc/index.ts';
import type { Address, ReceiveHandler, Transport } from '../../src/ipc/index.ts';
import { decode, encodeCreate, encodeMeasure, encodeReady, type Message } from '../../src/wire/index.ts';

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface RecordingLog extends Logger {
  lines: string[];
  has(level: string, text: string | RegExp): boolean;
}

export function recordingLog(): RecordingLog {
  const lines: string[] = [];
  const at = (lv: string) => (m: string) => void lines.push(`${lv} ${m}`);
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    has(level, text) {
      return lines.some(
        (l) => l.startsWith(level + ' ') && (typeof text === 'string' ? l.includes(text) : text.test(l)),
      );
    },
  };
}

export interface Harness {
  agent: Agent;
  log: RecordingLog;
  /** Messages the agent sent, decoded, in order. */
  out: Message[];
  /** Raw bytes the agent sent. */
  raw: Buffer[];
  send(buf: Uint8Array): Promise<void>;
  ready(id?: number): Promise<void>;
  create(sid: number, congAlg?: string, initCwnd?: number, mss?: number): Promise<void>;
  measure(sid: number, uid: number, fields: (number | bigint)[]): Promise<void>;
  close(sid: number): Promise<void>;
  /** Take (and clear) the messages sent so far. */
  take(): Message[];
}

export function harness(opts: Omit<AgentOptions, 'transport' | 'log'>): Harness {
  const ch = createChannel();
  const out: Message[] = [];
  const raw: Buffer[] = [];
  ch.datapath.onMessage((b) => {
    raw.push(Buffer.from(b));
    out.push(decode(b));
  });
  const log = recordingLog();
  const agent = startAgent({ ...opts, transport: ch.agent, log });
  const send = async (buf: Uint8Array): Promise<void> => {
    ch.datapath.send(buf, 'channel');
    await tick();
  };
  return {
    agent,
    log,
    out,
    raw,
    send,
    ready: (id = 0) => send(encodeReady(id)),
    create: (sid, congAlg = '', initCwnd = 14480, mss = 1448) =>
      send(encodeCreate({ sid, initCwnd, mss, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, congAlg })),
    measure: (sid, uid, fields) => send(encodeMeasure(sid, uid, fields)),
    close: (sid) => send(encodeMeasure(sid, 0, [])),
    take() {
      const t = out.slice();
      out.length = 0;
      raw.length = 0;
      return t;
    },
  };
}

/**
 * An in-process transport joining several channel pairs, so that one agent sees several
 * datapaths at distinct addresses (`names[i]`). Returns the agent's transport and the datapath
 * ends.
 */
export function multiChannel(names: string[]): { agent: Transport; datapaths: Transport[] } {
  const pairs = names.map(() => createChannel());
  let handler: ReceiveHandler | null = null;
  pairs.forEach((p, i) => p.agent.onMessage((buf) => handler?.(buf, names[i])));
  const agent: Transport = {
    kind: 'channel',
    send(msg: Uint8Array, to: Address) {
      const i = names.indexOf(to);
      if (i < 0) throw new Error(`no datapath at ${to}`);
      pairs[i].agent.send(msg, 'agent');
    },
    onMessage(h) {
      handler = h;
    },
    async close() {
      for (const p of pairs) await p.agent.close();
    },
  };
  return { agent, datapaths: pairs.map((p) => p.datapath) };
}
