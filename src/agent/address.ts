/**
 * Flow addresses as a CREATE carries them. ccp-kernel copies the socket's `inet_saddr`/`inet_daddr`
 * (big-endian `__be32`) and `inet_sport`/`inet_dport` (big-endian `__be16`) unchanged into the
 * message's u32 fields, so the raw numbers in {@link DatapathInfo} are byte-swapped: 10.0.0.1
 * arrives as 0x0100000a and port 5001 as 0x8913. These helpers read them in network order (and
 * the `to…` ones write them so, for datapaths that want to look like ccp-kernel). The raw values
 * stay available unchanged, as in portus; other datapaths may send host order.
 * @module
 */
import { ErrorCodes, PortusError } from '../errors.ts';
import type { DatapathInfo } from './types.ts';

/** The IPv4 address in a CREATE's `srcIp`/`dstIp` (network byte order) as a dotted quad. */
export function ipv4String(raw: number): string {
  return `${raw & 0xff}.${(raw >>> 8) & 0xff}.${(raw >>> 16) & 0xff}.${(raw >>> 24) & 0xff}`;
}

/** The port number in a CREATE's `srcPort`/`dstPort` (network byte order). */
export function portNumber(raw: number): number {
  return ((raw & 0xff) << 8) | ((raw >>> 8) & 0xff);
}

/** `"10.0.0.1:5001 > 10.0.0.2:40000"` (as tcpdump writes them): a flow's endpoints, read in network byte order. */
export function flowEndpoints(info: DatapathInfo): string {
  return (
    `${ipv4String(info.srcIp)}:${portNumber(info.srcPort)} > ` +
    `${ipv4String(info.dstIp)}:${portNumber(info.dstPort)}`
  );
}

/** A dotted quad as a CREATE's u32 in network byte order (inverse of {@link ipv4String}). */
export function ipv4ToRaw(address: string): number {
  const parts = address.split('.');
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (bytes.length !== 4 || bytes.some((b) => !(b <= 255))) {
    throw new PortusError(ErrorCodes.USAGE, `not an IPv4 address: '${address}'`);
  }
  return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
}

/** A port number as a CREATE's u32 in network byte order (inverse of {@link portNumber}). */
export function portToRaw(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new PortusError(ErrorCodes.USAGE, `not a port number: ${port}`);
  }
  return ((port & 0xff) << 8) | (port >>> 8);
}
