/**
 * Initialization and connections (`datapath-machine.md` §2, §3): READY, connection slots, CREATE
 * with its 100 ms re-send limit, the close MEASURE, and re-announcing everything to a new agent.
 * @module
 */
import { Libccp } from './codes.ts';
import { Conn } from './connection.ts';
import { clearStaged } from './staged.ts';
import { armFallback, emptyTable, type Machine } from './state.ts';
import type { FlowInfo } from './types.ts';

/** libccp's minimum interval between CREATE attempts for one slot (§3.2). */
const CREATE_TIMEOUT_US = 100000;

/** `ccp_init` (§2): validate the configuration, send READY, reset the tables. */
export function init(m: Machine): number {
  const cfg = m.cfg;
  if (
    typeof cfg.now !== 'function' ||
    typeof cfg.send !== 'function' ||
    typeof cfg.setCwnd !== 'function' ||
    typeof cfg.setRate !== 'function' ||
    !(m.maxConnections > 0) ||
    m.maxConnections > 65535 ||
    !(m.maxPrograms > 0) ||
    !(m.ftoUs > 0)
  ) {
    return Libccp.MISSING_ARG;
  }
  sendReady(m);
  m.table = emptyTable(m);
  m.slots.length = 0;
  for (let i = 0; i < m.slotIndex.length; i++) m.slots.push(null);
  m.timeZero = m.now();
  m.lastMsgSent = 0;
  m.inFallback = false;
  m.initialized = true;
  return 0;
}

/** Send READY(id); a failure is only logged, as in libccp. */
function sendReady(m: Machine): number {
  const ready = Buffer.alloc(12);
  ready.writeUInt16LE(5, 0);
  ready.writeUInt16LE(12, 2);
  ready.writeUInt32LE(m.id >>> 0, 8);
  const ok = m.cfg.send(ready);
  if (ok !== 0 && m.log) m.log('warn', `failed to send ready message: ${ok}`);
  return ok;
}

/** Send CREATE (§3.2) unless the slot sent one less than 100 ms ago; returns `send`'s result. */
export function sendCreate(m: Machine, c: Conn): number {
  const slot = c.sid - 1;
  const last = m.lastCreateSent[slot]!;
  if (last !== 0 && m.now() - last < CREATE_TIMEOUT_US) return Libccp.CREATE_PENDING;
  if (m.slotIndex[slot]! < 1) return Libccp.CONNECTION_NOT_INITIALIZED;
  m.lastCreateSent[slot] = m.now();
  const b = m.createBuf;
  b.writeUInt16LE(0, 0);
  b.writeUInt16LE(96, 2);
  b.writeUInt32LE(c.sid, 4);
  const i = c.info;
  b.writeUInt32LE(i.initCwnd >>> 0, 8);
  b.writeUInt32LE(i.mss >>> 0, 12);
  b.writeUInt32LE(i.srcIp >>> 0, 16);
  b.writeUInt32LE(i.srcPort >>> 0, 20);
  b.writeUInt32LE(i.dstIp >>> 0, 24);
  b.writeUInt32LE(i.dstPort >>> 0, 28);
  b.set(c.congAlg, 32);
  const ok = m.cfg.send(b);
  if (ok !== 0) armFallback(m);
  return ok;
}

/** `ccp_connection_start` (§3.1): claim the lowest free slot and try to send CREATE. */
export function startConnection(m: Machine, info: FlowInfo): Conn | null {
  if (!m.initialized) return null;
  const slotIndex = m.slotIndex;
  let slot = 0;
  for (; slot < slotIndex.length; slot++) if (slotIndex[slot] === 0) break;
  if (slot >= slotIndex.length) return null;
  slotIndex[slot] = slot + 1;
  const c = new Conn(slot + 1, info, m.timeZero);
  m.slots[slot] = c;
  m.active++;
  const ok = sendCreate(m, c);
  if (ok < 0) {
    if (m.log && !m.inFallback) m.log('warn', `failed to send create message: ${ok}`);
  } else c.sentCreate = true;
  return c;
}

/** `ccp_connection_free` (§3.4): send the close MEASURE and free the slot. */
export function freeConnection(m: Machine, sid: number): void {
  if (!m.initialized) return;
  const slotIndex = m.slotIndex;
  if (sid === 0 || sid > slotIndex.length) {
    if (m.log) m.log('warn', `index out of bounds: ${sid}`);
    return;
  }
  if (slotIndex[sid - 1] !== sid) {
    if (m.log) m.log('warn', `index mismatch: sid ${sid}, index ${slotIndex[sid - 1]}`);
    return;
  }
  const c = m.slots[sid - 1]!;
  c.alive = false;
  const b = m.closeBuf;
  b.fill(0);
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(16, 2);
  b.writeUInt32LE(sid, 4);
  const ok = m.cfg.send(b);
  if (ok < 0 && m.log && !m.inFallback) m.log('warn', `error sending close message: ${ok}`);
  m.slots[sid - 1] = null;
  slotIndex[sid - 1] = 0;
  m.active--;
}

/** A new agent: send READY again, wipe the program table and re-send every flow's CREATE. */
export function reconnect(m: Machine): number {
  if (!m.initialized) return Libccp.MISSING_ARG;
  const ok = sendReady(m);
  m.table = emptyTable(m);
  for (const c of m.slots) {
    if (c === null || !c.alive) continue;
    c.programIndex = 0;
    c.stagedProgramIndex = -1;
    c.loaded = null;
    clearStaged(c);
    m.lastCreateSent[c.sid - 1] = 0;
    c.sentCreate = sendCreate(m, c) === 0;
  }
  return ok;
}
