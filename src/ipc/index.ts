/**
 * Transports between the agent and datapaths (`shared/spec/ipc.md`): unix datagram sockets,
 * netlink, the ccp-kernel character device, the eBPF datapath (docs/bpf.md), and an in-process
 * channel for tests. Every
 * transport implements {@link Transport}: one CCP message per send; received buffers may hold
 * several messages (split them with `forEachMessage` from `wire`).
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { Transport } from './types.ts';
import { openUnix } from './unix.ts';
import type { UnixOptions } from './unix.ts';
import { openNetlink } from './netlink.ts';
import type { NetlinkOptions } from './netlink.ts';
import { openCharDevice } from './chardev.ts';
import type { CharDeviceOptions } from './chardev.ts';
import { openBpf } from './bpf.ts';
import type { BpfOptions } from './bpf.ts';

export type { Address, PeerGoneHandler, ReceiveHandler, Transport } from './types.ts';
export { createChannel } from './channel.ts';
export type { ChannelOptions, ChannelPair } from './channel.ts';
export { openUnix, DEFAULT_UNIX_PATH, DEFAULT_SOCKET_MODE } from './unix.ts';
export type { UnixOptions } from './unix.ts';
export { openNetlink, NETLINK_ADDRESS, CCP_NETLINK_GROUP, NETLINK_USERSOCK } from './netlink.ts';
export type { NetlinkOptions } from './netlink.ts';
export { openCharDevice, CHAR_DEVICE_ADDRESS, DEFAULT_CHAR_DEVICE, CHAR_MAX_WRITE } from './chardev.ts';
export type { CharDeviceOptions } from './chardev.ts';
export { openBpf, isBpfTransport, BPF_ADDRESS, DEFAULT_BPF_DIR } from './bpf.ts';
export type { BpfOptions, BpfStats, BpfInfo, BpfTransport } from './bpf.ts';

/** Transport kinds accepted by {@link openTransport}. */
export type TransportKind = 'unix' | 'netlink' | 'char' | 'bpf';

/** Options of {@link openTransport}: those of the chosen kind. */
export type TransportOptions = UnixOptions | NetlinkOptions | CharDeviceOptions | BpfOptions;

/**
 * Open a transport by kind: 'unix' → {@link openUnix}, 'netlink' → {@link openNetlink},
 * 'char' → {@link openCharDevice}, 'bpf' → {@link openBpf}.
 * @throws PortusError(IPC_UNAVAILABLE) when the transport cannot be opened; PortusError(USAGE)
 *   for an unknown kind.
 */
export function openTransport(kind: 'unix', opts?: UnixOptions): Promise<Transport>;
export function openTransport(kind: 'netlink', opts?: NetlinkOptions): Promise<Transport>;
export function openTransport(kind: 'char', opts?: CharDeviceOptions): Promise<Transport>;
export function openTransport(kind: 'bpf', opts?: BpfOptions): Promise<Transport>;
export function openTransport(kind: TransportKind, opts?: TransportOptions): Promise<Transport>;
export function openTransport(kind: TransportKind, opts: TransportOptions = {}): Promise<Transport> {
  switch (kind) {
    case 'unix':
      return openUnix(opts as UnixOptions);
    case 'netlink':
      return openNetlink(opts as NetlinkOptions);
    case 'char':
      return openCharDevice(opts as CharDeviceOptions);
    case 'bpf':
      return openBpf(opts as BpfOptions);
    default:
      return Promise.reject(
        new PortusError(
          ErrorCodes.USAGE,
          `unknown transport ${JSON.stringify(kind)} (expected unix, netlink, char or bpf)`,
        ),
      );
  }
}
