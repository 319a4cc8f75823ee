/**
 * libccp return codes (`ccp_error.h`, spec `wire-protocol.md` §11) as the datapath machine returns
 * them.
 * @module
 */

/** libccp's return codes. Negative = error; CHANGE_PROG for an unknown uid returns +8. */
export const Libccp = {
  OK: 0,
  MISSING_ARG: -11,
  NULL_ARG: -12,
  BUFSIZE_NEGATIVE: -21,
  BUFSIZE_TOO_SMALL: -22,
  MSG_TOO_LONG: -23,
  READ_INVALID_HEADER_TYPE: -32,
  READ_INVALID_OP: -33,
  READ_REG_NOT_ALLOWED: -34,
  READ_INVALID_RETURN_REG: -35,
  READ_INVALID_LEFT_REG: -36,
  READ_INVALID_RIGHT_REG: -37,
  INSTALL_TOO_MANY_EXPR: -42,
  INSTALL_TOO_MANY_INSTR: -43,
  UPDATE_TOO_MANY: -52,
  UPDATE_INVALID_REG_TYPE: -53,
  CHANGE_TOO_MANY: -62,
  UNKNOWN_CONNECTION: -71,
  CREATE_PENDING: -72,
  CONNECTION_NOT_INITIALIZED: -73,
  PROG_TABLE_FULL: -81,
  PROG_NOT_FOUND: -82,
  ADD_INT_OVERFLOW: -91,
  DIV_BY_ZERO: -92,
  MUL_INT_OVERFLOW: -93,
  SUB_INT_UNDERFLOW: -94,
  PRIV_IS_NULL: -95,
  PROG_IS_NULL: -96,
  FALLBACK_TIMED_OUT: -101,
  /** CHANGE_PROG naming a uid that is not installed: a positive no-op result. */
  CHANGE_PROG_UNKNOWN_UID: 8,
} as const;
