/**
 * What the parts of the agent runtime share: the options that shape it, its counters, its log and
 * clock, the program table, the update writer and the one send function. Built once by
 * {@link startAgent} and handed to the datapath table and to each flow handle.
 * @module
 */
import { CompileError } from '../errors.ts';
import type { Logger } from './log.ts';
import type { Observers } from './observe.ts';
import type { ProgramTable } from './programs.ts';
import type { UpdateWriter } from './updates.ts';

/** Counters of a running agent. */
export interface AgentStats {
  /** Known datapaths. */
  datapaths: number;
  /** Live flows over all datapaths. */
  flows: number;
  /** MEASURE reports delivered to flows since start. */
  reports: number;
  /** Messages received (each message of a multi-message buffer counts). */
  messagesIn: number;
  /** Messages sent. */
  messagesOut: number;
  /** Received messages dropped (malformed, unknown datapath/flow/type). */
  dropped: number;
  /** Exceptions thrown by algorithm code, and failed sends. */
  errors: number;
}

/** The runtime's shared context (internal). */
export interface AgentCore {
  readonly log: Logger;
  readonly debug: boolean;
  /** The agent's clock in microseconds. */
  readonly clock: () => number;
  readonly stats: AgentStats;
  readonly programs: ProgramTable;
  readonly updates: UpdateWriter;
  /** Programs a datapath's table can hold. */
  readonly maxPrograms: number;
  /** Listeners of agent events (dashboard, tests). */
  readonly observers: Observers;
  /** Send one message to a datapath address (logs and counts a failure; never throws). */
  send(address: string, msg: Buffer): void;
}

/** The first line of an error's message (for one-line event logs). */
export function firstLine(e: unknown): string {
  const s = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

/** Error text for logs: a compile error's formatted text, else the stack. */
export function errText(e: unknown): string {
  if (e instanceof CompileError) return e.format();
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}
