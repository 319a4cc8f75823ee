/**
 * Observing a running agent without touching its hot path: a read-only view of each live flow,
 * and events (datapath registration, flow create/close, program switches, algorithm exceptions)
 * delivered to listeners. Events are built only while someone listens; flow views are the flows
 * themselves, read in place.
 * @module
 */
import type { DatapathInfo } from './types.ts';

/** Something that happened in the agent. `time` is the agent's clock in microseconds. */
export type AgentEvent =
  | { kind: 'datapath'; time: number; address: string; detail: string }
  | { kind: 'flow-create'; time: number; address: string; sid: number; algorithm: string }
  | { kind: 'flow-close'; time: number; address: string; sid: number; detail: string }
  | { kind: 'program'; time: number; address: string; sid: number; program: string; uid: number }
  | { kind: 'error'; time: number; address: string; sid: number; detail: string };

/** Receives {@link AgentEvent}s; must not throw (exceptions are swallowed). */
export type AgentEventListener = (event: AgentEvent) => void;

/**
 * A read-only view of one live flow. Valid only inside the {@link Agent.forEachFlow} callback
 * (copy what you keep).
 */
export interface FlowView {
  /** The datapath's transport address. */
  readonly address: string;
  readonly sid: number;
  /** The algorithm serving the flow. */
  readonly algorithmName: string;
  /** The program the flow runs ('' before the first switch). */
  readonly programName: string;
  /** The flow's CREATE (addresses and ports as the datapath sent them). */
  readonly info: DatapathInfo;
  /** Last Cwnd the agent set, bytes (initCwnd before any). */
  readonly cwnd: number;
  /** Last Rate the agent set, bytes/s (0 = never set). */
  readonly rate: number;
  /** The `rtt` field of the last report, µs, if the flow's program reports one (else 0). */
  readonly lastRttUs: number;
  /** Reports delivered to the flow. */
  readonly reportCount: number;
  /** Agent clock (µs) when the flow was created. */
  readonly createdAt: number;
}

/** The listeners of one agent. */
export class Observers {
  private list: AgentEventListener[] = [];

  /** Whether anyone listens (emit sites skip building the event otherwise). */
  get active(): boolean {
    return this.list.length > 0;
  }

  /** Add a listener; returns the function that removes it. */
  add(fn: AgentEventListener): () => void {
    this.list = [...this.list, fn];
    return () => {
      this.list = this.list.filter((x) => x !== fn);
    };
  }

  /** Deliver an event to every listener. */
  emit(e: AgentEvent): void {
    for (const fn of this.list) {
      try {
        fn(e);
      } catch {
        // An observer's failure must never reach the datapath's flows.
      }
    }
  }
}

/** Index of the report field that carries an RTT sample (`rtt`, else the first name containing it). */
export function rttFieldIndex(reportFields: readonly string[]): number {
  const short = reportFields.map((n) => (n.startsWith('Report.') ? n.slice(7) : n).toLowerCase());
  const exact = short.indexOf('rtt');
  return exact >= 0 ? exact : short.findIndex((n) => n.includes('rtt'));
}
