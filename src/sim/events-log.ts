/**
 * The loss/cut event log of a run: when a sender detected losses, when a retransmission timeout
 * fired, and when congestion control cut the window (from → to bytes). Bounded: past
 * {@link MAX_EVENTS} entries only the count grows.
 * @module
 */

/** Kinds of logged events. */
export type EventKind = 'loss' | 'timeout' | 'cut';

/** One logged event. */
export interface LoggedEvent {
  /** Simulated time, µs. */
  timeUs: number;
  flow: number;
  kind: EventKind;
  /** loss: packets declared lost; timeout: packets outstanding; cut: window before, bytes. */
  a: number;
  /** cut: window after, bytes; otherwise 0. */
  b: number;
}

/** Entries kept (a 60 s run with a few flows logs a few thousand). */
export const MAX_EVENTS = 200_000;

/** The log itself: events in time order, plus how many did not fit. */
export class EventLog {
  readonly events: LoggedEvent[] = [];
  dropped = 0;

  /** Record one event (allocates one small object; events are per loss episode, not per packet). */
  add(timeUs: number, flow: number, kind: EventKind, a: number, b = 0): void {
    if (this.events.length >= MAX_EVENTS) {
      this.dropped++;
      return;
    }
    this.events.push({ timeUs, flow, kind, a, b });
  }
}

/** The log as CSV: `time_s,flow,event,value,window_after_bytes`. */
export function eventsCsv(log: EventLog): string {
  const lines = ['time_s,flow,event,value,window_after_bytes'];
  for (const e of log.events) {
    lines.push(`${+(e.timeUs / 1e6).toFixed(6)},${e.flow},${e.kind},${e.a},${e.kind === 'cut' ? e.b : ''}`);
  }
  if (log.dropped > 0) lines.push(`# ${log.dropped} more events not logged`);
  return lines.join('\n') + '\n';
}
