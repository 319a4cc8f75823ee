/**
 * The datapath table: datapaths keyed by transport address, each with its flow table. Handles
 * registration (READY, or the first CREATE from an unknown address), flow creation and close, and
 * runs the algorithm's `newFlow` and `close` hooks.
 *
 * Its state is bounded: flows per datapath and in total are capped (a CREATE over a limit is
 * refused with one rate-limited warning; the datapath keeps running that flow in its own default
 * congestion control), a datapath whose socket is gone (a send failed with ENOENT/ECONNREFUSED) is
 * removed, and so is one that has had no live flows and sent nothing for `idleTimeoutMs`. One that
 * has live flows but has been silent that long is probed with a zero-update UPDATE_FIELDS (a no-op
 * in libccp), so that a datapath killed without closing its flows is found out. Removing a
 * datapath runs its flows' close hooks.
 * @module
 */
import { encodeUpdateFields, type CreateMsg } from '../wire/index.ts';
import { flowEndpoints } from './address.ts';
import { errText, firstLine, type AgentCore } from './core.ts';
import { FlowState, type DatapathState } from './flow.ts';
import type { DatapathInfo } from './types.ts';

/** Limits of the datapath table (see {@link DEFAULT_LIMITS}). */
export interface DatapathLimits {
  /** Live flows one datapath may have. */
  maxFlowsPerDatapath: number;
  /** Live flows over all datapaths. */
  maxFlows: number;
  /**
   * A datapath with no live flows that has sent nothing for this long (in the agent's clock, ms)
   * is removed; 0 keeps such datapaths forever.
   */
  idleTimeoutMs: number;
  /** How long after a send found its socket gone the datapath is removed (ms). */
  goneGraceMs: number;
}

/**
 * Defaults: 65 535 flows per datapath (libccp's sids are 16-bit in its lookups), 262 144 flows in
 * total (about 200 MB of agent state at the measured ~800 bytes per flow), 60 s for a datapath
 * that has gone quiet with no flows, and 1 s between a send finding a datapath's socket gone and
 * its removal.
 */
export const DEFAULT_LIMITS: Readonly<DatapathLimits> = Object.freeze({
  maxFlowsPerDatapath: 65535,
  maxFlows: 262144,
  idleTimeoutMs: 60_000,
  goneGraceMs: 1000,
});

/** True if a send error says no socket is bound at the destination any more. */
export function isPeerGone(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /\b(ENOENT|ECONNREFUSED)\b/.test(msg);
}

/** Datapaths by address, and the flows of each. */
export class DatapathTable {
  private readonly map = new Map<string, DatapathState>();
  private readonly core: AgentCore;
  private readonly limits: DatapathLimits;
  private flowCount = 0;
  /** Addresses whose socket is gone, removed once the current message has been handled. */
  private readonly gone = new Set<string>();
  private pruneTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(core: AgentCore, limits: Partial<DatapathLimits> = {}) {
    this.core = core;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Known datapaths. */
  get size(): number {
    return this.map.size;
  }

  /** The idle timeout in ms (0: never). */
  get idleTimeoutMs(): number {
    return this.limits.idleTimeoutMs;
  }

  /** Live flows over all datapaths. */
  get flows(): number {
    return this.flowCount;
  }

  /** The datapath at `address`, if registered. */
  get(address: string): DatapathState | undefined {
    return this.map.get(address);
  }

  /** Every registered datapath. */
  values(): IterableIterator<DatapathState> {
    return this.map.values();
  }

  /**
   * Register the datapath at `address` (forgetting, without close hooks, the flows of an earlier
   * registration, as portus does) and install the start-up programs on it.
   */
  register(address: string, why: string): DatapathState {
    const { programs } = this.core;
    const old = this.map.get(address);
    if (old) {
      for (const f of [...old.flows.values()]) this.dropFlow(f);
      this.core.limited.info('dp-restarted', `datapath ${address} restarted (${why}); forgot its flows`);
    } else {
      this.core.limited.info('dp-registered', `datapath ${address} registered (${why})`);
    }
    const obs = this.core.observers;
    if (obs.active) {
      const detail = old ? `restarted (${why}); forgot ${old.flows.size} flow(s)` : `registered (${why})`;
      obs.emit({ kind: 'datapath', time: this.core.clock(), address, detail });
    }
    this.gone.delete(address);
    const dp: DatapathState = {
      address,
      flows: new Map(),
      installed: new Set(),
      seen: true,
      lastSeen: this.core.clock() / 1000,
    };
    this.map.set(address, dp);
    // INSTALL in ascending uid order starting at uid 1 (uid 1 wipes the datapath's table). With no
    // start-up programs, a run-time program that got uid 1 goes first so that it never wipes others.
    const upto = Math.max(programs.startupCount, 1);
    for (let uid = 1; uid <= upto && uid < programs.size; uid++) {
      const p = programs.get(uid);
      if (p === undefined) continue;
      this.core.send(address, p.install);
      dp.installed.add(uid);
    }
    return dp;
  }

  /** A CREATE: a new flow (replacing one with the same sid), handed to its algorithm's newFlow. */
  create(address: string, m: CreateMsg): void {
    const { log, stats, updates } = this.core;
    let dp = this.map.get(address);
    if (dp === undefined) dp = this.register(address, 'CREATE from an unknown datapath');
    const old = dp.flows.get(m.sid);
    if (old !== undefined) {
      log.info(`flow ${m.sid} (${address}) re-created; replacing the old flow`);
      this.dropFlow(old);
    } else if (!this.admit(dp, m.sid)) {
      return;
    }
    const alg = this.core.programs.algorithmFor(m.congAlg);
    const info: DatapathInfo = Object.freeze({
      sockId: m.sid,
      initCwnd: m.initCwnd,
      mss: m.mss,
      srcIp: m.srcIp,
      srcPort: m.srcPort,
      dstIp: m.dstIp,
      dstPort: m.dstPort,
      congAlg: m.congAlg,
    });
    const f = new FlowState(this.core, dp, info, alg);
    dp.flows.set(m.sid, f);
    this.flowCount++;
    if (this.core.observers.active) {
      const time = this.core.clock();
      this.core.observers.emit({ kind: 'flow-create', time, address, sid: m.sid, algorithm: alg.alg.name });
    }
    const outer = updates.enter();
    try {
      f.user = alg.alg.newFlow(f, info);
      log.debug(`flow ${m.sid} (${address}) ${flowEndpoints(info)} created with algorithm '${alg.alg.name}'`);
    } catch (e) {
      stats.errors++;
      this.core.exceptions.record(
        `flow ${m.sid} (${address})`,
        `creating the flow (${alg.alg.name}) threw`,
        errText(e),
        firstLine(e),
      );
      this.algorithmError(f, `newFlow threw: ${firstLine(e)}`);
    } finally {
      updates.leave(outer);
    }
  }

  /** Forget a flow without running its close hook. */
  dropFlow(f: FlowState): void {
    f.gone = true;
    f.lastReport = null;
    if (f.dp.flows.delete(f.sid)) this.flowCount--;
  }

  /** Forget a flow and run its algorithm's close hook (errors are logged and counted). */
  closeFlow(f: FlowState, why: string): void {
    this.dropFlow(f);
    if (this.core.observers.active) {
      const time = this.core.clock();
      this.core.observers.emit({ kind: 'flow-close', time, address: f.dp.address, sid: f.sid, detail: why });
    }
    const u = f.user;
    f.user = null;
    if (u === null || typeof u.close !== 'function') return;
    const { stats, updates } = this.core;
    const outer = updates.enter();
    try {
      u.close();
    } catch (e) {
      stats.errors++;
      this.core.exceptions.record(
        `flow ${f.sid} (${f.dp.address})`,
        `close() threw (${why})`,
        errText(e),
        firstLine(e),
      );
      this.algorithmError(f, `close() threw: ${firstLine(e)}`);
    } finally {
      updates.leave(outer);
    }
  }

  /** Tell observers that the flow's algorithm threw. */
  algorithmError(f: FlowState, detail: string): void {
    const obs = this.core.observers;
    if (obs.active)
      obs.emit({ kind: 'error', time: this.core.clock(), address: f.dp.address, sid: f.sid, detail });
  }

  /**
   * The datapath at `address` is gone (the transport dropped it: it stopped reading, or its socket
   * vanished): close its flows, running their close hooks, and forget it. A later READY or CREATE
   * from the same address registers it afresh. No-op for an unknown address.
   */
  removeDatapath(address: string, why: string): void {
    const dp = this.map.get(address);
    if (dp === undefined) return;
    for (const f of [...dp.flows.values()]) this.closeFlow(f, `datapath gone: ${why}`);
    this.map.delete(address);
    this.core.log.warn(`datapath ${address} gone (${why}); its flows are closed`);
    const obs = this.core.observers;
    if (obs.active) obs.emit({ kind: 'datapath', time: this.core.clock(), address, detail: `gone: ${why}` });
  }

  /** Close every flow of every datapath, running close hooks (agent shutdown). */
  closeAll(): void {
    for (const dp of this.map.values()) {
      for (const f of [...dp.flows.values()]) {
        this.core.log.debug(`flow ${f.sid} (${dp.address}) closed by the agent shutting down`);
        this.closeFlow(f, 'agent shutdown');
      }
    }
  }

  /** Whether a new flow `sid` fits the limits; refuses it with a rate-limited warning if not. */
  private admit(dp: DatapathState, sid: number): boolean {
    const { maxFlowsPerDatapath, maxFlows } = this.limits;
    let why = '';
    if (dp.flows.size >= maxFlowsPerDatapath) {
      why = `datapath ${dp.address} already has ${dp.flows.size} flows (the per-datapath limit; option maxFlowsPerDatapath, \`portus run --max-flows-per-datapath\`)`;
    } else if (this.flowCount >= maxFlows) {
      why = `the agent already has ${this.flowCount} flows (the total limit; option maxFlows, \`portus run --max-flows\`)`;
    } else {
      return true;
    }
    this.core.stats.flowsRefused++;
    this.core.limited.warn(
      `flow-limit:${dp.address}`,
      `refused flow ${sid} from ${dp.address}: ${why}; the datapath keeps it in its own congestion control`,
    );
    return false;
  }

  /** Note that a message arrived from `address` (for the idle timeout). */
  touch(address: string): void {
    const dp = this.map.get(address);
    if (dp !== undefined) dp.seen = true;
  }

  /**
   * A send to `address` failed because no socket is bound there: remove that datapath (running
   * its flows' close hooks) after a grace period of {@link DatapathLimits.goneGraceMs}, so that
   * messages it sent before it went (its closes, usually) are still handled as such. A READY from
   * that address in the meantime cancels the removal.
   */
  peerGone(address: string): void {
    if (!this.map.has(address)) return;
    this.gone.add(address);
    if (this.pruneTimer !== null) return;
    this.pruneTimer = setTimeout(() => {
      this.pruneTimer = null;
      for (const a of [...this.gone]) this.remove(a, 'its socket is gone');
      this.gone.clear();
    }, this.limits.goneGraceMs);
    this.pruneTimer.unref?.();
  }

  /** Stop the removal timer (agent shutdown). */
  stop(): void {
    if (this.pruneTimer !== null) clearTimeout(this.pruneTimer);
    this.pruneTimer = null;
  }

  /**
   * Remove datapaths with no live flows that have sent nothing for the idle timeout (called
   * periodically by the runtime; `nowMs` in the agent's clock). Returns how many were removed.
   */
  sweep(nowMs: number = this.core.clock() / 1000): number {
    const timeout = this.limits.idleTimeoutMs;
    if (!(timeout > 0)) return 0;
    let removed = 0;
    for (const dp of [...this.map.values()]) {
      if (dp.seen) {
        dp.seen = false;
        dp.lastSeen = nowMs;
      } else if (dp.flows.size === 0 && nowMs - dp.lastSeen >= timeout) {
        this.remove(dp.address, `silent for ${Math.round((nowMs - dp.lastSeen) / 1000)} s with no flows`);
        removed++;
      } else if (dp.flows.size > 0 && nowMs - dp.lastSeen >= timeout) {
        // Silent with live flows (idle connections, or a datapath killed without closing them):
        // probe with an UPDATE_FIELDS of zero updates, a no-op for libccp. If its socket is gone
        // the send fails and the datapath is removed (peerGone); otherwise nothing changes.
        const first = dp.flows.keys().next().value as number;
        dp.lastSeen = nowMs;
        this.core.send(dp.address, encodeUpdateFields(first, []));
      }
    }
    return removed;
  }

  /** Forget the datapath at `address`, running its flows' close hooks. */
  remove(address: string, why: string): void {
    const dp = this.map.get(address);
    if (dp === undefined) return;
    const n = dp.flows.size;
    for (const f of [...dp.flows.values()]) this.closeFlow(f, `datapath removed: ${why}`);
    this.map.delete(address);
    this.core.stats.datapathsPruned++;
    const obs = this.core.observers;
    if (obs.active)
      obs.emit({ kind: 'datapath', time: this.core.clock(), address, detail: `removed (${why})` });
    this.core.limited.info(
      'dp-removed',
      `datapath ${address} removed (${why})${n > 0 ? `; closed its ${n} flows` : ''}`,
    );
  }
}
