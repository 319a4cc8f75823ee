/**
 * The addresses the simulated datapath puts in flow i's CREATE: 10.0.0.(1 + i):(40000 + i) >
 * 10.0.0.254:5001, in network byte order as ccp-kernel sends them (`wire-protocol.md` §4 note), so
 * the agent's `ipv4String`/`flowEndpoints` print them as written here. The source port is how a
 * flow is found again from its `DatapathInfo`.
 * @module
 */
import { portNumber, portToRaw } from '../agent/index.ts';

/** Source port of flow 0; flow i uses SIM_PORT_BASE + i (at most 10,000 flows: below 65536). */
export const SIM_PORT_BASE = 40000;

/** Flow i's source address as a host-order number: 10.0.0.1 + i. */
const SRC_BASE = 0x0a000001;
/** 10.0.0.254, host order. */
const DST = 0x0a0000fe;
const DST_PORT = 5001;

/** A host-order u32 address in network byte order, as read little-endian from the wire. */
function toNetwork(host: number): number {
  return ((host >>> 24) | ((host >>> 8) & 0xff00) | ((host & 0xff00) << 8) | ((host & 0xff) << 24)) >>> 0;
}

/** Flow i's CREATE address fields (raw, network byte order). */
export function simFlowAddresses(i: number): {
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
} {
  return {
    srcIp: toNetwork((SRC_BASE + i) >>> 0),
    srcPort: portToRaw(SIM_PORT_BASE + i),
    dstIp: toNetwork(DST),
    dstPort: portToRaw(DST_PORT),
  };
}

/** The simulated flow's index from the raw source port in its CREATE. */
export function simFlowIndex(rawSrcPort: number): number {
  return portNumber(rawSrcPort) - SIM_PORT_BASE;
}
