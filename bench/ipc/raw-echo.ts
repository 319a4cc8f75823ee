/**
 * Echo peer of the raw ping-pong baseline: binds `argv[2]` and sends every datagram straight
 * back to its sender over the same unix-dgram binding the transport uses. Prints "ready" once
 * bound; exits on SIGTERM or when stdin closes.
 */
import { rmSync } from 'node:fs';
import { rawUnixSocket } from '../../src/ipc/unix.ts';

const path = process.argv[2]!;
rmSync(path, { force: true });
const sock = rawUnixSocket((status, buf, from) => {
  if (status >= 0 && buf !== null && from !== null) sock.sendto(buf, from);
}, path);
const stop = (): void => {
  sock.close();
  rmSync(path, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
process.stdout.write('ready\n');
