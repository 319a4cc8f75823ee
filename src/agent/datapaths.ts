/**
 * The datapath table: datapaths keyed by transport address, each with its flow table. Handles
 * registration (READY, or the first CREATE from an unknown address), flow creation and close, and
 * runs the algorithm's `newFlow` and `close` hooks.
 * @module
 */
import type { CreateMsg } from '../wire/index.ts';
import { flowEndpoints } from './address.ts';
import { errText, firstLine, type AgentCore } from './core.ts';
import { FlowState, type DatapathState } from './flow.ts';
import type { DatapathInfo } from './types.ts';

/** Datapaths by address, and the flows of each. */
export class DatapathTable {
  private readonly map = new Map<string, DatapathState>();
  private readonly core: AgentCore;
  private flowCount = 0;

  constructor(core: AgentCore) {
    this.core = core;
  }

  /** Known datapaths. */
  get size(): number {
    return this.map.size;
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
    const { log, programs } = this.core;
    const old = this.map.get(address);
    if (old) {
      for (const f of old.flows.values()) this.dropFlow(f);
      log.info(`datapath ${address} restarted (${why}); forgot its flows`);
    } else {
      log.info(`datapath ${address} registered (${why})`);
    }
    const obs = this.core.observers;
    if (obs.active) {
      const detail = old ? `restarted (${why}); forgot ${old.flows.size} flow(s)` : `registered (${why})`;
      obs.emit({ kind: 'datapath', time: this.core.clock(), address, detail });
    }
    const dp: DatapathState = { address, flows: new Map(), installed: new Set() };
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
      log.error(`flow ${m.sid} (${address}): creating the flow (${alg.alg.name}) threw: ${errText(e)}`);
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
    const { log, stats, updates } = this.core;
    const outer = updates.enter();
    try {
      u.close();
    } catch (e) {
      stats.errors++;
      log.error(`flow ${f.sid} (${f.dp.address}): close() threw (${why}): ${errText(e)}`);
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

  /** Close every flow of every datapath, running close hooks (agent shutdown). */
  closeAll(): void {
    for (const dp of this.map.values()) {
      for (const f of [...dp.flows.values()]) {
        this.core.log.debug(`flow ${f.sid} (${dp.address}) closed by the agent shutting down`);
        this.closeFlow(f, 'agent shutdown');
      }
    }
  }
}
