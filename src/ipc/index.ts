/**
 * Transports between the agent and datapaths (`shared/spec/ipc.md`): unix datagram sockets,
 * netlink, the ccp-kernel character device, and an in-process channel for tests.
 * @module
 */
export type { Address, ReceiveHandler, Transport } from './types.ts';
export { createChannel } from './channel.ts';
export type { ChannelOptions, ChannelPair } from './channel.ts';
