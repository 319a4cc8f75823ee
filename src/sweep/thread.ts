/**
 * Worker-thread entry of the local runner ({@link createPool}): runs each cell task it is sent and
 * posts back the outcome. One cell at a time per thread.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { runCell } from './cell.ts';
import type { CellTask } from './spec.ts';

const port = parentPort;
if (port === null) throw new Error('src/sweep/thread is a worker-thread entry, not a module to import');
port.on('message', (task: CellTask) => {
  void runCell(task, { plainFiles: true }).then((outcome) => port.postMessage(outcome));
});
