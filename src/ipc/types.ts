/**
 * The one interface every transport implements (spec ipc.md §5): send one CCP message to an
 * address, receive byte buffers with the sender's address.
 * @module
 */

/**
 * A datapath address as the transport reports it: for unix sockets the sender's path (or
 * `'\0name'` for an abstract address); for netlink `'netlink'`; for the char device `'char'`;
 * for channels the channel's name. The agent keys datapaths by this string.
 */
export type Address = string;

/**
 * Called with each received buffer (which may hold several concatenated CCP messages). The buffer
 * is valid only during the call (transports may reuse it): copy what you keep.
 */
export type ReceiveHandler = (buf: Buffer, from: Address) => void;

/**
 * Called when a transport gives up on a destination: its backlog overflowed (it stopped reading).
 * Its flows should be treated as gone; a later datagram from the same address starts over.
 */
export type PeerGoneHandler = (address: Address, reason: string) => void;

/** A bidirectional message transport. */
export interface Transport {
  /** Short name: 'unix', 'netlink', 'char' or 'channel'. */
  readonly kind: string;
  /**
   * Send exactly one CCP message as one datagram / netlink message / write to `to`.
   * The buffer may be reused by the caller as soon as `send` returns.
   * Throws a PortusError (IPC_SEND) if the message cannot be sent.
   */
  send(msg: Uint8Array, to: Address): void;
  /** Install the receive handler (replaces a previous one). */
  onMessage(handler: ReceiveHandler): void;
  /** Install an error handler for asynchronous transport errors (they are logged otherwise). */
  onError?(handler: (err: Error) => void): void;
  /**
   * Wait until messages the transport still holds (queued because a receiver was busy) have been
   * sent, or `timeoutMs` has passed. Resolves to the number still queued, which `close()` would
   * discard. Transports that never queue need not implement it.
   */
  drain?(timeoutMs: number): Promise<number>;
  /** Install a handler for destinations the transport dropped (unix transport). */
  onPeerGone?(handler: PeerGoneHandler): void;
  /** Close the transport and release its resources (removes a unix socket file it created). */
  close(): Promise<void>;
}
