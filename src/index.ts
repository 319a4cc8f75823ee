/**
 * Portus for TypeScript: write congestion control algorithms as TypeScript classes and run them
 * against any libccp datapath. This is the package entry (`import ... from 'portus'`); the test kit
 * is `portus/testing`.
 * @module
 */
export * from './agent/index.ts';
export {
  algorithmNames,
  getAlgorithm,
  aimd,
  constAlg,
  reno,
  cubic,
  genericCongAvoid,
  gcaConfig,
} from './algorithms/index.ts';
export type { GcaAlgorithm, GcaConfig, GcaFlow, Measurements, Params } from './algorithms/index.ts';
export { ErrorCodes, PortusError, CompileError, WireError, isPortusError, type ErrorCode } from './errors.ts';
export { compile, disassemble, type Program, type Scope } from './lang/index.ts';
export { openTransport, createChannel, type Transport } from './ipc/index.ts';
export {
  createDatapath,
  zeroPrimitives,
  Libccp,
  type Datapath,
  type DatapathConfig,
  type Connection,
  type FlowInfo,
  type Primitives,
} from './datapath/index.ts';
export {
  runSimulation,
  runRealtime,
  loadScenario,
  resolveScenario,
  writeOutputs,
  formatTable,
  type Scenario,
  type SimResult,
  type RunOptions,
  type RealtimeOptions,
} from './sim/index.ts';
export { startDashboard, type Dashboard, type DashboardOptions } from './dashboard/index.ts';
