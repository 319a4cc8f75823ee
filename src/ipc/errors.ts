/**
 * Error helpers shared by the transports: errno names and the two PortusError codes
 * (IPC_UNAVAILABLE when a transport cannot be opened, IPC_SEND when a message cannot be sent).
 * @module
 */
import { constants } from 'node:os';
import { ErrorCodes, PortusError } from '../errors.ts';

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) errnoNames.set(num, name);

/** 'EACCES' for 13 or −13; 'errno N' if unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `errno ${errno}`;
}

/** The errno code of a Node system error ('ENOENT'...), or ''. */
export function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

/** A transport cannot be opened. */
export function unavailable(message: string, cause?: unknown): PortusError {
  return new PortusError(ErrorCodes.IPC_UNAVAILABLE, message, cause === undefined ? undefined : { cause });
}

/** A message cannot be sent. */
export function sendError(message: string, cause?: unknown): PortusError {
  return new PortusError(ErrorCodes.IPC_SEND, message, cause === undefined ? undefined : { cause });
}
