/**
 * Types of the CCP wire protocol (`shared/spec/wire-protocol.md`). Shared by the compiler (which
 * produces {@link Instruction}s and {@link EventRecord}s), the agent and the datapath machine.
 * @module
 */

/** Message type codes (header `Type`, u16). */
export const MsgType = {
  CREATE: 0,
  MEASURE: 1,
  INSTALL_EXPR: 2,
  UPDATE_FIELDS: 3,
  CHANGE_PROG: 4,
  READY: 5,
} as const;

/** Register type codes (spec wire-protocol §6.4). */
export const RegType = {
  CONTROL: 0,
  IMMEDIATE: 1,
  IMPLICIT: 2,
  LOCAL: 3,
  PRIMITIVE: 4,
  VOLATILE_REPORT: 5,
  REPORT: 6,
  TMP: 7,
  VOLATILE_CONTROL: 8,
} as const;

/** Opcodes (spec wire-protocol §6.5). */
export const Op = {
  ADD: 0,
  BIND: 1,
  DEF: 2,
  DIV: 3,
  EQUIV: 4,
  EWMA: 5,
  GT: 6,
  IF: 7,
  LT: 8,
  MAX: 9,
  MAXWRAP: 10,
  MIN: 11,
  MUL: 12,
  NOTIF: 13,
  SUB: 14,
} as const;

/** Implicit register indices (type 2). */
export const Implicit = {
  EXPR_FLAG: 0,
  SHOULD_FALLTHROUGH: 1,
  SHOULD_REPORT: 2,
  MICROS: 3,
  CWND: 4,
  RATE: 5,
} as const;

/** One operand of an instruction: register type code and u32 index (the value, for immediates). */
export interface Operand {
  type: number;
  index: number;
}

/** One 16-byte instruction record. */
export interface Instruction {
  op: number;
  result: Operand;
  left: Operand;
  right: Operand;
}

/** One 16-byte expression (event) record: a `when` clause's condition and body ranges. */
export interface EventRecord {
  condStart: number;
  condCount: number;
  bodyStart: number;
  bodyCount: number;
}

/** One 13-byte update record of UPDATE_FIELDS / CHANGE_PROG. `value` is a u64. */
export interface UpdateRecord {
  regType: number;
  regIndex: number;
  value: bigint;
}

/** READY (type 5): the datapath (re)started. */
export interface ReadyMsg {
  type: typeof MsgType.READY;
  sid: number;
  id: number;
}

/** CREATE (type 0): a new flow. `congAlg` is '' when no algorithm was requested. */
export interface CreateMsg {
  type: typeof MsgType.CREATE;
  sid: number;
  initCwnd: number;
  mss: number;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  congAlg: string;
}

/** MEASURE (type 1): a report, or with `numFields === 0` the flow-close signal. */
export interface MeasureMsg {
  type: typeof MsgType.MEASURE;
  sid: number;
  programUid: number;
  /** The u32 `num_fields` as sent. */
  numFields: number;
  /** Field values decoded from `Len` ((Len - 16) / 8 values), as portus does. */
  fields: bigint[];
}

/** INSTALL_EXPR (type 2): store a compiled program in the datapath's program table. */
export interface InstallMsg {
  type: typeof MsgType.INSTALL_EXPR;
  sid: number;
  programUid: number;
  events: EventRecord[];
  instructions: Instruction[];
}

/** UPDATE_FIELDS (type 3): stage new values of control registers / Cwnd / Rate. */
export interface UpdateFieldsMsg {
  type: typeof MsgType.UPDATE_FIELDS;
  sid: number;
  updates: UpdateRecord[];
}

/** CHANGE_PROG (type 4): stage a switch to an installed program, with initial values. */
export interface ChangeProgMsg {
  type: typeof MsgType.CHANGE_PROG;
  sid: number;
  programUid: number;
  updates: UpdateRecord[];
}

/** Any CCP message. */
export type Message = ReadyMsg | CreateMsg | MeasureMsg | InstallMsg | UpdateFieldsMsg | ChangeProgMsg;
