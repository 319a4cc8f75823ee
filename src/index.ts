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
  bbr,
  copa,
  vegas,
  nimbus,
  dctcp,
} from './algorithms/index.ts';
export type { GcaAlgorithm, GcaConfig, GcaFlow, Measurements, Params } from './algorithms/index.ts';
export type { NimbusHooks, NimbusMode } from './algorithms/index.ts';
export { ErrorCodes, PortusError, CompileError, WireError, isPortusError, type ErrorCode } from './errors.ts';
export { compile, disassemble, type Program, type Scope } from './lang/index.ts';
export { openTransport, createChannel, type Transport } from './ipc/index.ts';
export { openBpf, type BpfOptions, type BpfStats, type BpfTransport, type BpfInfo } from './ipc/index.ts';
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
  AlgorithmFailedError,
  EventLog,
  type AlgorithmFailure,
  type WindowMark,
  type EventKind,
  type LoggedEvent,
} from './sim/index.ts';
// Types that the exports above take or return, so that users can name them (and the API reference
// documents them), plus the transports that openTransport opens.
export type { SourcePos } from './errors.ts';
export type { CompileOptions, ScopeVariable, UpdateTarget } from './lang/index.ts';
export {
  openUnix,
  openNetlink,
  openCharDevice,
  type ChannelOptions,
  type Address,
  type ChannelPair,
  type CharDeviceOptions,
  type NetlinkOptions,
  type ReceiveHandler,
  type PeerGoneHandler,
  type TransportKind,
  type TransportOptions,
  type UnixOptions,
} from './ipc/index.ts';
export type { LogLevel as DatapathLogLevel, ProgramSlot, RegisterSnapshot } from './datapath/index.ts';
export type {
  AlgorithmSummary,
  FlowConfig,
  FlowHooks,
  FlowState,
  FlowSummary,
  LinkConfig,
  LiveStatus,
  Network,
  NetworkConfig,
  Percentiles,
  ResolvedFlow,
  ResolvedScenario,
  SampleBuffer,
  ScenarioFlow,
  Summary,
  TimeSeries,
  Trace,
} from './sim/index.ts';
export { startDashboard, type Dashboard, type DashboardOptions } from './dashboard/index.ts';
/** The wire codecs (also the `portus/wire` entry), for datapath authors. */
export * as wire from './wire/index.ts';
