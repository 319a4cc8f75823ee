/**
 * In-process transport pair for unit tests (spec ipc.md §3): two queues, one per direction.
 * Each `send` is delivered as one unit (a private copy), in order — asynchronously through
 * `queueMicrotask` by default, or synchronously inside `send` with `{ sync: true }`.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { Address, ReceiveHandler, Transport } from './types.ts';

/** Options of {@link createChannel}. */
export interface ChannelOptions {
  /** Deliver inside `send` instead of in a microtask (default false). */
  sync?: boolean;
}

/** The two ends of an in-process channel. */
export interface ChannelPair {
  /** The agent's end; messages arriving here come from address 'channel'. */
  agent: Transport;
  /** The datapath's end; messages arriving here come from address 'agent'. */
  datapath: Transport;
}

interface End extends Transport {
  deliver(buf: Buffer): void;
  closed: boolean;
}

function makeEnd(fromName: Address, sync: boolean): End {
  let handler: ReceiveHandler | null = null;
  let errorHandler: ((err: Error) => void) | null = null;
  let peer: End | null = null;
  // Messages that arrived before a handler was installed wait here, in order.
  const backlog: Buffer[] = [];
  const end: End & { setPeer(p: End): void } = {
    kind: 'channel',
    closed: false,
    setPeer(p: End) {
      peer = p;
    },
    send(msg: Uint8Array, _to: Address): void {
      if (end.closed) throw new PortusError(ErrorCodes.IPC_SEND, 'channel is closed');
      const copy = Buffer.from(msg);
      const p = peer!;
      if (sync) p.deliver(copy);
      else queueMicrotask(() => p.deliver(copy));
    },
    deliver(buf: Buffer): void {
      if (end.closed) return;
      if (handler === null) {
        backlog.push(buf);
        return;
      }
      try {
        handler(buf, fromName);
      } catch (err) {
        if (errorHandler !== null) errorHandler(err as Error);
        else throw err;
      }
    },
    onMessage(h: ReceiveHandler): void {
      handler = h;
      while (backlog.length > 0 && handler !== null && !end.closed) end.deliver(backlog.shift()!);
    },
    onError(h: (err: Error) => void): void {
      errorHandler = h;
    },
    close(): Promise<void> {
      end.closed = true;
      backlog.length = 0;
      return Promise.resolve();
    },
  };
  return end;
}

/**
 * Create an in-process transport pair. What one end sends, the other receives, each message as
 * one unit and in order. Addresses: the agent sees 'channel', the datapath sees 'agent'.
 */
export function createChannel(opts: ChannelOptions = {}): ChannelPair {
  const sync = opts.sync === true;
  const agent = makeEnd('channel', sync) as End & { setPeer(p: End): void };
  const datapath = makeEnd('agent', sync) as End & { setPeer(p: End): void };
  agent.setPeer(datapath);
  datapath.setPeer(agent);
  return { agent, datapath };
}
