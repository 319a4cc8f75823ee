/**
 * Sweeps: algorithms × scenarios × seeds, expanded from a JSON/YAML spec into simulator cells, run
 * in parallel on worker threads or on many machines through a BullMQ queue, collected into
 * results.csv and an HTML leaderboard. See docs/sweep.md.
 * @module
 */
export {
  ALG_UNDER_TEST,
  MAX_CELLS,
  canonicalJson,
  cellId,
  expandSpec,
  isAlgorithmFile,
  loadSpec,
  parseSpec,
  standaloneScenario,
  validateSpec,
  type AxisValue,
  type Cell,
  type CellTask,
  type SweepAlgorithm,
  type SweepSpec,
} from './spec.ts';
export { runCell, cellMetrics, type CellMetrics, type CellOutcome } from './cell.ts';
export { createPool, defaultJobs, type Pool } from './pool.ts';
export { cellDir, readResult, resultsCsv, writeResult, type StoredResult } from './results.ts';
export { leaderboardHtml, meanSd, standings, type Standing } from './leaderboard.ts';
export {
  DEFAULT_QUEUE_NAME,
  parseRedisUrl,
  runOnQueue,
  startWorker,
  type QueueRunOptions,
  type QueueWorker,
  type WorkerOptions,
} from './queue.ts';
export {
  runSweep,
  writeSummaryFiles,
  type SweepOptions,
  type SweepProgress,
  type SweepSummary,
} from './sweep.ts';
