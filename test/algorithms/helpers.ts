// Helpers for algorithm tests: pair each report with the Cwnd the agent answered.
import type { Testbed } from '../../src/testing/index.ts';
import { MsgType } from '../../src/wire/index.ts';

export interface Step {
  /** Report fields by short name (acked, sacked, loss, timeout, rtt, inflight). */
  r: Record<string, number>;
  /** Cwnd sent in answer to this report (undefined = none). */
  cwnd?: number;
  tUs: number;
}

const GCA_FIELDS = ['acked', 'sacked', 'loss', 'timeout', 'rtt', 'inflight'];

/** Reports of `sid` (6-field generic-cong-avoid programs) and the Cwnd sent after each. */
export function steps(tb: Testbed, sid: number, fields = GCA_FIELDS): Step[] {
  const out: Step[] = [];
  for (const { msg, dir, tUs } of tb.messages) {
    if (dir === 'up' && msg.type === MsgType.MEASURE && msg.sid === sid && msg.numFields > 0) {
      const r: Record<string, number> = {};
      fields.forEach((f, i) => (r[f] = Number(msg.fields[i])));
      out.push({ r, tUs });
    } else if (dir === 'down' && msg.type === MsgType.UPDATE_FIELDS && msg.sid === sid && out.length > 0) {
      for (const u of msg.updates)
        if (u.regType === 2 && u.regIndex === 4) out[out.length - 1].cwnd = Number(u.value);
    }
  }
  return out;
}

/** The CHANGE_PROG messages sent to `sid`. */
export function changeProgs(tb: Testbed, sid: number) {
  return tb.messages.flatMap(({ msg, dir }) =>
    dir === 'down' && msg.type === MsgType.CHANGE_PROG && msg.sid === sid ? [msg] : [],
  );
}
