/**
 * The libccp-compatible datapath machine (`shared/spec/datapath-machine.md`): {@link createDatapath}
 * assembles the datapath object from its parts.
 *
 * | file | spec | job |
 * |---|---|---|
 * | state.ts | §1.1 | the datapath object: slots, program table, fallback timer, buffers |
 * | connection.ts | §1.2 | the connection and its private state |
 * | connections.ts | §2, §3 | READY, connection start/free, CREATE |
 * | invoke.ts | §4.1, §8 | one invocation, the fallback check |
 * | state-machine.ts | §4.2 | loading registers, running events, callbacks |
 * | instructions.ts | §5 | the instruction interpreter (double and BigInt mode) |
 * | registers.ts | §4.4 | register offsets, double/BigInt mode switch |
 * | reports.ts | §6 | MEASURE and the DEF scans |
 * | messages.ts | §7 | INSTALL_EXPR, CHANGE_PROG, UPDATE_FIELDS |
 * | staged.ts | §7.3 | staged updates and their application |
 *
 * Arithmetic is exact unsigned 64-bit. Registers live in a Float64Array while every value is below
 * 2^53 (where doubles are exact integers); an instruction whose result would reach 2^53 (ADD, MUL,
 * EWMA) instead switches the connection to a BigUint64Array copy and re-executes that instruction
 * with BigInt arithmetic mod 2^64, and the invocation continues there. After an invocation in BigInt
 * mode the connection returns to doubles once all its registers are below 2^53 again.
 * @module
 */
import type { Conn } from './connection.ts';
import { freeConnection, init, reconnect, startConnection } from './connections.ts';
import { invoke } from './invoke.ts';
import { receive } from './messages.ts';
import { snapshot } from './registers.ts';
import { createMachine } from './state.ts';
import type { Connection, Datapath, DatapathConfig, ProgramSlot } from './types.ts';

/**
 * Create a libccp-compatible datapath. Call {@link Datapath.init} first (it sends READY).
 * Time comes from `cfg.now()` in microseconds.
 */
export function createDatapath(cfg: DatapathConfig): Datapath {
  const m = createMachine(cfg);
  return {
    init: () => init(m),
    startConnection: (info) => startConnection(m, info),
    reconnect: () => reconnect(m),
    freeConnection: (sid) => freeConnection(m, sid),
    invoke: (conn) => invoke(m, conn),
    receive: (buf) => receive(m, buf),

    connection(sid: number): Connection | null {
      if (sid < 1 || sid > m.slots.length) return null;
      return m.slots[sid - 1] ?? null;
    },

    activeConnections: () => m.active,
    inFallback: () => m.inFallback,
    registers: (conn) => snapshot(conn as Conn),

    programs(): ProgramSlot[] {
      const out: ProgramSlot[] = [];
      for (const p of m.table) {
        if (p) {
          out.push({
            index: p.index,
            uid: p.uid,
            numExpressions: p.numExpressions,
            numInstructions: p.numInstructions,
            numToReturn: p.numToReturn,
          });
        }
      }
      return out;
    },
  };
}
