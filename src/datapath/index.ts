/**
 * A libccp-compatible datapath machine in TypeScript (`shared/spec/datapath-machine.md`): connection
 * slots, the program table, CREATE/MEASURE/close messages, staged updates and program switches, the
 * register machine with exact unsigned 64-bit arithmetic, and the fallback timer. Drive it with your
 * own clock and transport: fill `conn.prims`, call `invoke`, hand received buffers to `receive`.
 * @module
 */
export { createDatapath } from './machine.ts';
export { Libccp } from './codes.ts';
export { zeroPrimitives } from './types.ts';
export type {
  Connection,
  Datapath,
  DatapathConfig,
  FlowInfo,
  LogLevel,
  Primitives,
  ProgramSlot,
  RegisterSnapshot,
} from './types.ts';
