/**
 * Reports and DEF processing (`datapath-machine.md` §6): sending MEASURE with the report registers,
 * and the two DEF scans, reset_state (volatile registers, after every report and at a program
 * switch) and init_register_state (at a program switch).
 * @module
 */
import type { Conn } from './connection.ts';
import { setU32 } from './registers.ts';
import { armFallback, lookupProgram, type Machine } from './state.ts';
import type { Program } from './program.ts';
import { TWO32 } from './u64.ts';

/** reset_state (§6.3): volatile DEFs back to their defaults; stores num_to_return. */
export function resetState(m: Machine, c: Conn): void {
  const p = lookupProgram(m, c.programIndex);
  if (!p) {
    if (m.log) m.log('info', 'Cannot reset state because program is NULL');
    return;
  }
  const offs = p.resetOffs;
  const vals = p.resetVals;
  for (let i = 0; i < offs.length; i++) setU32(c, offs[i]!, vals[i]!);
  if (p.storesCount) p.numToReturn = p.reportDefs;
}

/** init_register_state (§6.3): report and control registers with a DEF to their defaults. */
export function initRegisterState(m: Machine, c: Conn): void {
  const p = lookupProgram(m, c.programIndex);
  if (!p) {
    if (m.log) m.log('info', 'Cannot init register state because program is NULL');
    return;
  }
  const offs = p.initOffs;
  const vals = p.initVals;
  for (let i = 0; i < offs.length; i++) setU32(c, offs[i]!, vals[i]!);
}

/** Send MEASURE (§6.2) with report registers 0 … num_to_return − 1, then reset_state. */
export function sendReport(m: Machine, c: Conn, p: Program): void {
  const n = p.numToReturn;
  const b = m.reportViews[n]!;
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(16 + 8 * n, 2);
  b.writeUInt32LE(c.sid, 4);
  b.writeUInt32LE(p.uid, 8);
  b.writeUInt32LE(n, 12);
  if (c.big) {
    const rb = c.rb!;
    for (let i = 0; i < n; i++) b.writeBigUInt64LE(rb[i]!, 16 + 8 * i);
  } else {
    const r = c.r;
    for (let i = 0; i < n; i++) {
      const v = r[i]!;
      const lo = v % TWO32;
      b.writeUInt32LE(lo, 16 + 8 * i);
      b.writeUInt32LE((v - lo) / TWO32, 20 + 8 * i);
    }
  }
  const ok = m.cfg.send(b);
  if (ok !== 0) armFallback(m);
  resetState(m, c);
}
