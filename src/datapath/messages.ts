/**
 * Handling agent messages (`datapath-machine.md` §7): header checks, INSTALL_EXPR into the program
 * table (§7.1), CHANGE_PROG (§7.2) and UPDATE_FIELDS (§7.3), which stage their updates.
 * @module
 */
import { Libccp } from './codes.ts';
import { decodeInstall, placeholderProgram } from './program.ts';
import { clearStaged, stage } from './staged.ts';
import { emptyTable, type Machine } from './state.ts';
import { u32at } from './u64.ts';

const BIGGEST_MSG_SIZE = 32678;
/** libccp's `MAX_MUTABLE_REG`: the most updates a CHANGE_PROG may carry. */
const MAX_MUTABLE_REG = 222;

/** Handle one message from the agent; returns 0, libccp's positive no-op code, or an error. */
export function receive(m: Machine, buf: Uint8Array): number {
  const log = m.log;
  if (!m.initialized) {
    if (log) log('warn', 'datapath state not initialized');
    return Libccp.PROG_IS_NULL;
  }
  // Step 2: header type (libccp copies 8 bytes unconditionally; we need at least the type).
  if (buf.length < 2) {
    if (log) log('warn', `received ${buf.length} bytes: no header`);
    return Libccp.BUFSIZE_TOO_SMALL;
  }
  const type = buf[0]! | (buf[1]! << 8);
  if (type !== 2 && type !== 3 && type !== 4) {
    if (log) log('warn', `read header failed: invalid type ${type}`);
    return Libccp.READ_INVALID_HEADER_TYPE;
  }
  if (buf.length < 8) {
    if (log) log('warn', `received ${buf.length} bytes: truncated header`);
    return Libccp.BUFSIZE_TOO_SMALL;
  }
  const len = buf[2]! | (buf[3]! << 8);
  if (len > buf.length) {
    if (log) log('warn', `message size wrong: ${len} > ${buf.length}`);
    return Libccp.BUFSIZE_TOO_SMALL;
  }
  if (len > BIGGEST_MSG_SIZE) {
    if (log) log('warn', `message too long: ${len} > ${BIGGEST_MSG_SIZE}`);
    return Libccp.MSG_TOO_LONG;
  }
  // Step 4: any message that passed the header checks clears the fallback timer.
  m.lastMsgSent = 0;
  if (type === 2) return install(m, buf);
  const sid = buf[4]! | (buf[5]! << 8); // libccp looks flows up with a u16 sid
  if (sid === 0 || sid > m.slotIndex.length || m.slotIndex[sid - 1] !== sid) {
    if (log) log('trace', `unknown connection: ${sid}`); // libccp_trace, as libccp
    return Libccp.UNKNOWN_CONNECTION;
  }
  return type === 3 ? updateFields(m, sid, buf) : changeProg(m, sid, buf);
}

/** UPDATE_FIELDS (§7.3): stage the records for the next invocation. */
function updateFields(m: Machine, sid: number, buf: Uint8Array): number {
  if (buf.length < 9) return Libccp.BUFSIZE_TOO_SMALL;
  const count = buf[8]!; // libccp reads one (signed) char
  if (count >= 0x80) {
    if (m.log) m.log('warn', `Update fields message failed: too many updates`);
    return Libccp.UPDATE_TOO_MANY;
  }
  return stage(m, m.slots[sid - 1]!, buf, 12, count);
}

/** CHANGE_PROG (§7.2): stage a switch to the program with the given uid, and its updates. */
function changeProg(m: Machine, sid: number, buf: Uint8Array): number {
  if (buf.length < 16) return Libccp.BUFSIZE_TOO_SMALL;
  const uid = u32at(buf, 8);
  const count = u32at(buf, 12);
  if (count > MAX_MUTABLE_REG) {
    if (m.log) m.log('warn', `Change program message deserialization failed: ${count} updates`);
    return Libccp.CHANGE_TOO_MANY;
  }
  let found = -1;
  for (let i = 0; i < m.table.length; i++) {
    const p = m.table[i];
    if (p && p.index !== 0 && p.uid === uid) {
      found = p.index;
      break;
    }
  }
  if (found < 0) {
    if (m.log) m.log('info', `Could not find datapath program with program uid: ${uid}`);
    return Libccp.CHANGE_PROG_UNKNOWN_UID;
  }
  const c = m.slots[sid - 1]!;
  c.stagedProgramIndex = found;
  clearStaged(c);
  return stage(m, c, buf, 16, count);
}

/** INSTALL_EXPR (§7.1): decode the program into the first free table slot (uid 1 wipes the table). */
function install(m: Machine, buf: Uint8Array): number {
  const log = m.log;
  const d = decodeInstall(buf);
  if ('reject' in d) {
    if (log) log('error', `INSTALL_EXPR rejected: ${d.reason}`);
    return d.reject;
  }
  const p = d.program;
  const max = m.maxPrograms;
  if (p.uid === 1) m.table = emptyTable(m);
  const table = m.table;
  let pid = 0;
  for (; pid < max; pid++) {
    if (!table[pid]) break;
  }
  if (pid >= max) {
    if (log) log('warn', 'could not install datapath program: program table full');
    return Libccp.PROG_TABLE_FULL;
  }
  if (pid + 1 >= max) {
    // libccp's slot search marks the last slot used and then fails (datapath-machine §7.1)
    table[pid] = placeholderProgram(pid + 1);
    if (log) log('warn', 'could not install datapath program: program table full');
    return Libccp.PROG_TABLE_FULL;
  }
  p.index = pid + 1;
  table[pid] = p;
  if (d.code !== 0 && log) log('warn', `Could not read instruction in program with uid ${p.uid}: ${d.code}`);
  return d.code;
}
