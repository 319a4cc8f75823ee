/**
 * Peer of the raw baselines: binds `argv[2]` and sends every datagram straight back to its
 * sender over the same unix datagram addon the transport uses — except a "flood request"
 * (`FLOOD` + u32 count + u32 size), answered with `count` datagrams of `size` bytes as fast as the
 * receiver's queue allows (retrying on EAGAIN). Prints "ready" once bound; exits on SIGTERM or
 * when stdin closes.
 */
import { rmSync } from 'node:fs';
import { rawUnixSocket } from '../../src/ipc/unix.ts';

const path = process.argv[2]!;
rmSync(path, { force: true });
const EAGAIN = -11;
function flood(to: string, count: number, size: number): void {
  const msg = Buffer.alloc(size, 0x33);
  let sent = 0;
  const pump = (): void => {
    while (sent < count) {
      const err = sock.sendto(msg, to);
      if (err === EAGAIN) {
        setImmediate(pump); // the receiver's queue is full: let it drain
        return;
      }
      if (err < 0) return;
      sent++;
    }
  };
  pump();
}
const sock = rawUnixSocket((status, buf, from) => {
  if (status < 0 || buf === null || from === null) return;
  if (buf.length === 13 && buf.toString('latin1', 0, 5) === 'FLOOD')
    flood(from, buf.readUInt32LE(5), buf.readUInt32LE(9));
  else sock.sendto(buf, from);
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
