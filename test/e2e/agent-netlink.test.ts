// End to end over real NETLINK_USERSOCK sockets: `portus run reno --ipc netlink` as its own
// process; this test plays ccp-kernel with a second raw netlink socket (multicasting to group 22
// as ccp_nl.c does) wired to the TypeScript libccp-compatible datapath.
// Needs root (joining a USERSOCK multicast group needs CAP_NET_ADMIN); CI runs as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatapath, type Connection } from '../../src/datapath/index.ts';
import { forEachNetlinkPayload, frameNetlink, rawNetlinkSocketClass } from '../../src/ipc/netlink.ts';
import { decode, MsgType } from '../../src/wire/index.ts';
import { exitOf, portus } from './helpers.ts';

const skip =
  process.getuid?.() !== 0 && 'skipped: netlink multicast groups need root (CAP_NET_ADMIN); CI runs as root';
const GROUP_22_MASK = 1 << (22 - 1);
const MSS = 1448;

test(
  'e2e netlink: reno against a datapath behind a netlink socket playing the kernel',
  { skip },
  async () => {
    const Raw = rawNetlinkSocketClass();
    const kernel = new Raw(2);
    const kport = kernel.address().port;
    const ag = portus([
      'run',
      'reno',
      '--ipc',
      'netlink',
      '--netlink-peer-port',
      String(kport),
      '--debug',
      '--quiet',
    ]);
    try {
      await ag.waitFor(/^portus: running 'reno' on netlink/);
      const agentPort = ag.child.pid!;
      let now = 0;
      const got: number[] = [];
      let reportsSent = 0;
      const cwnds: number[] = [];
      let wake: (() => void) | null = null;
      const dp = createDatapath({
        now: () => now,
        send(msg) {
          if (msg.readUInt16LE(0) === MsgType.MEASURE && msg.length > 16) reportsSent++;
          const f = frameNetlink(msg);
          f.writeUInt16LE(3, 4); // NLMSG_DONE, as the kernel frames it
          // multicast to group 22 (a unicast destination is needed for the send; use our own port)
          kernel.send(f, { port: kport, groups: GROUP_22_MASK });
          return 0;
        },
        setCwnd(c: Connection, b: number) {
          c.prims.sndCwnd = b;
          if (cwnds.at(-1) !== b) cwnds.push(b);
        },
        setRate() {},
      });
      kernel.on('message', (buf, rinfo) => {
        if (rinfo.port !== agentPort) return; // our own multicast echo
        forEachNetlinkPayload(buf, (payload) => {
          got.push(decode(payload).type);
          dp.receive(payload);
        });
        wake?.();
      });
      const until = (pred: () => boolean, what: string): Promise<void> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20_000);
          const check = () => {
            if (pred()) {
              clearTimeout(timer);
              wake = null;
              resolve();
            }
          };
          wake = check;
          check();
        });
      assert.equal(dp.init(), 0);
      await until(() => got.includes(MsgType.INSTALL_EXPR), 'INSTALL_EXPR');
      const conn = dp.startConnection({
        initCwnd: 10 * MSS,
        mss: MSS,
        srcIp: 1,
        srcPort: 2,
        dstIp: 3,
        dstPort: 4,
        congAlg: 'reno',
      })!;
      await until(() => got.includes(MsgType.CHANGE_PROG), 'CHANGE_PROG');
      const updates = () => got.filter((t) => t === MsgType.UPDATE_FIELDS).length;
      const ack = async (loss: boolean) => {
        now += 1000;
        const p = conn.prims;
        const cw = p.sndCwnd || 10 * MSS;
        Object.assign(p, {
          bytesAcked: loss ? 0 : MSS,
          packetsAcked: loss ? 0 : 1,
          packetsMisordered: loss ? 1 : 0,
          bytesMisordered: loss ? MSS : 0,
          lostPktsSample: loss ? 1 : 0,
          rttSampleUs: 10_000,
          sndCwnd: cw,
          packetsInFlight: Math.floor(cw / MSS),
          bytesInFlight: cw,
        });
        const r = reportsSent;
        const u = updates();
        dp.invoke(conn);
        if (reportsSent > r) await until(() => updates() > u, 'UPDATE_FIELDS');
      };
      for (let i = 0; i < 60; i++) await ack(false);
      const beforeLoss = conn.prims.sndCwnd;
      await ack(true);
      await ack(false);
      const afterLoss = conn.prims.sndCwnd;
      for (let i = 0; i < 20; i++) await ack(false);
      // slow start: the window grew by the acked bytes of each report
      assert.ok(beforeLoss >= 40 * MSS, `slow start grew the window to ${beforeLoss / MSS} packets`);
      assert.ok(
        Math.abs(afterLoss - beforeLoss / 2) <= 2 * MSS,
        `halved on loss: ${beforeLoss} -> ${afterLoss}`,
      );
      assert.ok(cwnds.length > 5);
      dp.freeConnection(conn.sid);
      await ag.waitFor(/flow 1 \(netlink\) closed by the datapath/, 'err');
      ag.kill('SIGINT');
      assert.equal(await exitOf(ag), 0);
    } finally {
      ag.kill('SIGKILL');
      kernel.close();
    }
  },
);
