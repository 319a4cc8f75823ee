/**
 * `ccp_invoke` (`datapath-machine.md` §4.1): the fallback check (§8), CREATE re-sends (§3.3),
 * loading Cwnd and Rate, a staged program switch, staged values, then the state machine.
 * @module
 */
import { Libccp } from './codes.ts';
import { Conn } from './connection.ts';
import { sendCreate } from './connections.ts';
import { CWND, MICROS, RATE, enterBig, setU32, tryLeaveBig } from './registers.ts';
import { initRegisterState, resetState } from './reports.ts';
import { applyStaged } from './staged.ts';
import { stateMachine } from './state-machine.ts';
import type { Machine } from './state.ts';
import type { Connection } from './types.ts';
import { TWO53, bigOf, toU64 } from './u64.ts';

/** One invocation for `conn`; returns 0 or a libccp error. */
export function invoke(m: Machine, conn: Connection): number {
  if (!(conn instanceof Conn)) return Libccp.NULL_ARG;
  const c = conn;
  if (!c.alive) return Libccp.PRIV_IS_NULL;
  const now = m.now();
  if (fallbackTimedOut(m, now)) return Libccp.FALLBACK_TIMED_OUT;
  if (!c.sentCreate) {
    const ok = sendCreate(m, c);
    if (ok < 0) {
      if (m.log && !m.inFallback) m.log('warn', `failed to retx create message: ${ok}`);
    } else c.sentCreate = true;
    return 0;
  }
  // Step 4: Cwnd and Rate from the datapath.
  const sndRate = toU64(c.prims.sndRate);
  if (sndRate >= TWO53) enterBig(c);
  if (c.big) {
    c.rb![CWND] = BigInt(c.prims.sndCwnd >>> 0);
    c.rb![RATE] = bigOf(sndRate);
  } else {
    c.r[CWND] = c.prims.sndCwnd >>> 0;
    c.r[RATE] = sndRate;
  }
  // Step 5: staged program switch.
  if (c.stagedProgramIndex >= 0) {
    c.programIndex = c.stagedProgramIndex;
    resetState(m, c);
    initRegisterState(m, c);
    c.tzNow = m.now();
    c.tzV = 0;
    c.tzIsBig = false;
    setU32(c, MICROS, 0);
    c.stagedProgramIndex = -1;
  }
  // Steps 6–9: staged values.
  if (c.pendingAny) applyStaged(m, c);
  const res = stateMachine(m, c, now);
  if (c.big) tryLeaveBig(c);
  return res;
}

/**
 * The fallback check (§8): true while a failed send has gone unanswered for more than `ftoUs`.
 * Entering and leaving fallback are logged once each.
 */
function fallbackTimedOut(m: Machine, now: number): boolean {
  if (m.lastMsgSent !== 0 && now - m.lastMsgSent > m.ftoUs) {
    if (!m.inFallback) {
      m.inFallback = true;
      if (m.log)
        m.log(
          'error',
          `entering fallback: no message from the agent for more than ${m.ftoUs} us after a failed send`,
        );
    }
    return true;
  }
  if (m.inFallback) {
    m.inFallback = false;
    if (m.log) m.log('error', 'leaving fallback');
  }
  return false;
}
