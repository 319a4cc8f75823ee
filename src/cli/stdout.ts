/**
 * Writing to a reader that has gone (`portus sim | head`): the process ends quietly with status
 * 141, as a Unix tool killed by SIGPIPE does (Node ignores SIGPIPE, so without this the write's
 * EPIPE would crash the process with a stack trace). A command that must finish something first
 * (`portus datapath` closes its flows, so the agent sees every CLOSE) defers that exit with
 * {@link onClosedPipe}.
 * @module
 */

/** The exit status of a process whose output pipe was closed: 128 + SIGPIPE (13). */
export const EXIT_PIPE_CLOSED = 141;

const installed = new WeakSet<NodeJS.WritableStream>();
const deferred = new WeakMap<NodeJS.WritableStream, () => void>();

/**
 * While installed, an EPIPE on `stream` calls `handler` (once) instead of exiting: the command
 * stops its work and ends with {@link EXIT_PIPE_CLOSED} itself. Returns the function that removes
 * the handler (an EPIPE after that exits at once again).
 */
export function onClosedPipe(stream: NodeJS.WritableStream, handler: () => void): () => void {
  deferred.set(stream, handler);
  return () => {
    if (deferred.get(stream) === handler) deferred.delete(stream);
  };
}

/**
 * Make an EPIPE on `streams` (default: stdout and stderr) end the process quietly with
 * {@link EXIT_PIPE_CLOSED}. Other stream errors are rethrown as before. Idempotent.
 */
export function exitQuietlyOnClosedPipe(
  streams: NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  for (const s of streams) {
    if (installed.has(s)) continue;
    installed.add(s);
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      const handler = deferred.get(s);
      deferred.delete(s);
      if (handler !== undefined) handler();
      else exit(EXIT_PIPE_CLOSED);
    });
  }
}
