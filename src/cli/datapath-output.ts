/**
 * Human-readable output of `portus datapath` (the default; `--json` prints every event instead):
 * a start line, a status line per second on a terminal, notable events (agent gone, reconnected,
 * flows under control) and a summary.
 * @module
 */

/** Emit one event (JSON line or human output). */
export type Emit = (ev: string, fields?: Record<string, unknown>) => void;

interface FlowView {
  cwnd: number;
  controlled: boolean;
}

/** What the human output reads from the running datapath. */
export interface HumanSource {
  flows: ReadonlyMap<number, FlowView>;
  stats: { acks: number; reports: number; sendFailures: number };
  isTTY: boolean;
}

/** The human-readable printer. */
export interface HumanOutput {
  event(clockUs: number, ev: string, fields: Record<string, unknown>): void;
  /** Flows were started. */
  started(): void;
  /** One more flow received its first CHANGE_PROG. */
  controlled(): void;
  /** Every flow lost its agent (a new one is being registered). */
  uncontrolled(): void;
  /** Called every tick with the wall clock in µs: a status line per second on a terminal. */
  tick(nowUs: number): void;
}

const secs = (us: number): string => (us / 1e6).toFixed(1);

/** Build the printer writing lines through `out`. */
export function humanOutput(out: (line: string) => void, src: HumanSource): HumanOutput {
  let controlled = 0;
  let sinceUs = 0;
  let clock = 0;
  let lastTick = 0;
  let announced = false;
  const say = (msg: string): void => out(`portus datapath: ${msg}`);
  return {
    event(clockUs, ev, f) {
      clock = clockUs;
      switch (ev) {
        case 'ready':
          say(`READY sent to the agent at ${String(f.agent)} from ${String(f.socket)} (id ${String(f.id)})`);
          sinceUs = clockUs;
          break;
        case 'no_install':
          say(`no INSTALL from the agent within ${String(f.waited_ms)} ms; starting the flows anyway`);
          break;
        case 'flow_rejected':
          say(`a flow was not started: ${String(f.reason)}`);
          break;
        case 'agent_gone':
          say(
            `the agent at ${String(f.agent)} is gone (${String(f.error)}); flows run in fallback ` +
              '(the datapath’s own congestion control) until they end, as with libccp — ' +
              '`--reconnect` re-registers them with a new agent',
          );
          break;
        case 'reconnect':
          say(`a new agent is at ${String(f.agent)}: sent READY and ${String(f.flows)} CREATEs again`);
          sinceUs = clockUs;
          break;
        case 'summary': {
          const r = f.invoke_results as Record<string, number>;
          const results = Object.entries(r)
            .map(([code, n]) => `${n} × ${code}`)
            .join(', ');
          say(
            `done after ${secs(clockUs)} s${f.interrupted ? ` (stopped by ${String(f.signal ?? 'a signal')})` : ''}: ` +
              `${String(f.flows)} flows, ${String(f.acks)} ACKs, ${String(f.reports)} reports, ` +
              `${String(f.messages_received)} messages from the agent, ${String(f.send_failures)} send failures, ` +
              `${String(f.undelivered)} undelivered` +
              (Number(f.reconnects) > 0 ? `, ${String(f.reconnects)} reconnects` : '') +
              (results ? `; invoke results: ${results}` : ''),
          );
          break;
        }
        default:
          break; // recv, set_cwnd, set_rate, flow_start, flow_close: only with --json
      }
    },
    started() {
      say(`started ${src.flows.size} flows`);
    },
    controlled() {
      controlled++;
      if (controlled === src.flows.size && !announced) {
        announced = true;
        say(
          `all ${controlled} flows are under the agent's control (${((clock - sinceUs) / 1000).toFixed(0)} ms)`,
        );
      }
    },
    uncontrolled() {
      controlled = 0;
      announced = false;
    },
    tick(nowUs) {
      if (!src.isTTY || nowUs - lastTick < 1e6) return;
      lastTick = nowUs;
      let lo = Infinity;
      let hi = 0;
      for (const f of src.flows.values()) {
        lo = Math.min(lo, f.cwnd);
        hi = Math.max(hi, f.cwnd);
      }
      const cw = src.flows.size > 0 ? ` cwnd ${lo}–${hi} B` : '';
      say(
        `${secs(nowUs)} s: ${src.flows.size} flows (${controlled} controlled), ${src.stats.acks} ACKs, ` +
          `${src.stats.reports} reports${cw}`,
      );
    },
  };
}
