/**
 * Netlink transport (ipc.md §2) over real NETLINK_USERSOCK sockets: the transport under test
 * sends to `peerPort`, a second raw netlink socket that plays ccp-kernel — it receives the
 * agent's framed messages and multicasts replies to group 22. Checklist G.73, G.74.
 * Needs root (joining a USERSOCK multicast group needs CAP_NET_ADMIN); CI runs as root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, PortusError } from '../../src/errors.ts';
import { openNetlink, openTransport } from '../../src/ipc/index.ts';
import type { Transport } from '../../src/ipc/index.ts';
import { frameNetlink, rawNetlinkSocketClass } from '../../src/ipc/netlink.ts';
import type { RawNetlink } from '../../src/ipc/netlink.ts';
import { encodeMeasure, encodeReady, encodeUpdateFields, splitMessages } from '../../src/wire/index.ts';
import { fixture, isRoot, nextEvent, runNode } from './helpers.ts';

const skip =
  !isRoot() && 'skipped: netlink multicast groups need root (CAP_NET_ADMIN); CI runs these as root';
const GROUP_22_MASK = 1 << (22 - 1);

/** A raw NETLINK_USERSOCK socket standing in for ccp-kernel. */
function fakeKernel(): { sock: RawNetlink; port: number; received: Array<{ buf: Buffer; port: number }> } {
  const Raw = rawNetlinkSocketClass();
  const sock = new Raw(2);
  const port = sock.address().port;
  const received: Array<{ buf: Buffer; port: number }> = [];
  sock.on('message', (buf, rinfo) => {
    if (rinfo.port !== port) received.push({ buf, port: rinfo.port }); // ignore its own multicasts
  });
  return { sock, port, received };
}

/** Multicast one datagram (already framed) to group 22, as ccp_nl.c does. */
function multicast(sock: RawNetlink, port: number, datagram: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    // unicast to itself as well (any destination port is needed for the send to succeed)
    sock.send(datagram, { port, groups: GROUP_22_MASK }, (err) => (err ? reject(err) : resolve())),
  );
}

/** The kernel's framing of one CCP message: nlmsghdr with type NLMSG_DONE (3). */
function kernelFrame(msg: Buffer): Buffer {
  const f = frameNetlink(msg);
  f.writeUInt16LE(3, 4);
  return f;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test(
  '[G.73] netlink: USERSOCK, bound to our pid, each message framed with a 16-byte header',
  { skip },
  async () => {
    const k = fakeKernel();
    let t: Transport | null = null;
    try {
      t = await openNetlink({ peerPort: k.port });
      const msgs = [encodeUpdateFields(1, [{ regType: 2, regIndex: 4, value: 42n }]), encodeReady(7)];
      for (const m of msgs) t.send(m, 'netlink');
      await until(() => k.received.length === 2, 'two netlink messages');
      for (let i = 0; i < 2; i++) {
        const { buf, port } = k.received[i]!;
        assert.equal(port, process.pid, 'bound with nl_pid = getpid()');
        assert.equal(buf.length, 16 + msgs[i]!.length, 'one CCP message per netlink message, no padding');
        assert.equal(buf.readUInt32LE(0), 16 + msgs[i]!.length);
        assert.equal(buf.subarray(4, 16).toString('hex'), '00'.repeat(12), 'type, flags, seq, pid are 0');
        assert.equal(buf.subarray(16).toString('hex'), msgs[i]!.toString('hex'));
      }
    } finally {
      await t?.close();
      k.sock.close();
    }
  },
);

test(
  '[G.74] netlink: multicasts to group 22 are unwrapped; several per datagram; other senders ignored',
  { skip },
  async () => {
    const k = fakeKernel();
    const t = await openNetlink({ peerPort: k.port });
    try {
      const got: Array<{ hex: string; from: string }> = [];
      t.onMessage((buf, from) => got.push({ hex: buf.toString('hex'), from }));
      const ready = encodeReady(0);
      const measure = encodeMeasure(1, 1, [40n, 4000n, 40n]);
      const close = encodeMeasure(1, 0, []);
      await multicast(k.sock, k.port, kernelFrame(ready));
      // two netlink messages in one datagram
      await multicast(k.sock, k.port, Buffer.concat([kernelFrame(measure), kernelFrame(close)]));
      // a multicast from another process is not the kernel: ignored
      const other = fakeKernel();
      await multicast(other.sock, other.port, kernelFrame(encodeReady(99)));
      other.sock.close();
      await multicast(k.sock, k.port, kernelFrame(encodeReady(1)));
      await until(() => got.length === 4, 'four payloads');
      assert.deepEqual(
        got.map((g) => g.hex),
        [ready, measure, close, encodeReady(1)].map((b) => b.toString('hex')),
      );
      assert.ok(got.every((g) => g.from === 'netlink'));
      assert.equal(splitMessages(Buffer.from(got[1]!.hex, 'hex')).messages.length, 1);
    } finally {
      await t.close();
      k.sock.close();
    }
  },
);

test(
  'netlink to the real kernel without ccp-kernel loaded: the send error names the module',
  { skip },
  async () => {
    const t = await openTransport('netlink', {});
    try {
      const err = await nextEvent<Error>((fn) => {
        t.onError!(fn);
        t.send(encodeReady(0), 'netlink');
      });
      assert.ok(err instanceof PortusError && err.code === ErrorCodes.IPC_SEND);
      assert.match(err.message, /ECONNREFUSED.*ccp-kernel module loaded/);
    } finally {
      await t.close();
    }
  },
);

test('netlink without CAP_NET_ADMIN: IPC_UNAVAILABLE explains that root is needed', { skip }, async () => {
  const r = await runNode(fixture('open-transport.ts'), ['netlink', '{}'], { uid: 65534, gid: 65534 });
  assert.equal(r.ok, false);
  assert.equal(r.code, ErrorCodes.IPC_UNAVAILABLE);
  assert.match(String(r.message), /group 22.*(EPERM|EACCES).*root/);
});
