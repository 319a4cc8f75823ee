/**
 * The network simulator: a deterministic discrete-event model of senders sharing one
 * bottleneck, driven by the TypeScript libccp datapath and the real agent; metrics, plots and
 * reports. See docs/sim.md.
 * @module
 */
export { EventQueue } from './events.ts';
export { createRng, type Rng } from './rng.ts';
export { parseTrace, loadTrace, countOpportunities, traceRate, type Trace } from './trace.ts';
export {
  Network,
  SampleBuffer,
  type FlowConfig,
  type FlowHooks,
  type LinkConfig,
  type NetworkConfig,
  type SimPrimitives,
  type TimeSeries,
  type WindowMark,
} from './network.ts';
export type { FlowState } from './network.ts';
export {
  jainIndex,
  percentile,
  percentilesMs,
  summarize,
  type AlgorithmSummary,
  type FlowSummary,
  type Percentiles,
  type Summary,
} from './metrics.ts';
export {
  loadScenario,
  resolveScenario,
  SIM_LIMITS,
  validateScenario,
  type ResolvedFlow,
  type ResolvedScenario,
  type Scenario,
  type ScenarioFlow,
} from './scenario.ts';
export {
  AlgorithmFailedError,
  describeFailure,
  guardAlgorithm,
  userLocation,
  type AlgorithmFailure,
} from './guard.ts';
export {
  DATAPATH_SLOTS,
  slotWarning,
  attachInProcessAgent,
  attachRealtimeAgent,
  algorithmsFor,
  type CcpLink,
  type LinkCounters,
} from './ccp.ts';
export { runSimulation, runRealtime, type LiveStatus, type RealtimeOptions, type RunOptions } from './run.ts';
export {
  describeSetup,
  describeWindow,
  binMean,
  throughputBinUs,
  formatTable,
  toJson,
  toCsv,
  plots,
  htmlReport,
  writeOutputs,
  type SimResult,
} from './output.ts';
export { EventLog, eventsCsv, MAX_EVENTS, type EventKind, type LoggedEvent } from './events-log.ts';
export {
  lineChart,
  scatterChart,
  throughputDelayChart,
  niceTicks,
  escapeXml,
  type LineChartOptions,
  type ScatterChartOptions,
  type XMarker,
} from './plot/svg.ts';
export {
  parseRate,
  parseTime,
  parseSize,
  parseProbability,
  sizeToBytes,
  formatRate,
  type Size,
} from './units.ts';
