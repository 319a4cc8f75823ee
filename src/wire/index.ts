/**
 * CCP wire protocol: encode and decode every message byte-compatibly with libccp
 * (`shared/spec/wire-protocol.md`). Decoding is total: any byte string yields messages or a
 * `WireError`. Encoders validate limits and throw `PortusError(ENCODE)`.
 * @module
 */
export * from './types.ts';
export { encode, decode, isKnownType } from './codec.ts';
export { forEachMessage, splitMessages } from './framing.ts';
export type { MessageVisitor } from './framing.ts';
export { HEADER_SIZE, MAX_MSG_SIZE, Sizes, Limits, readType, readLen, readSid } from './header.ts';
export { encodeReady } from './ready.ts';
export { encodeCreate, decodeCongAlg } from './create.ts';
export {
  encodeMeasure,
  measureProgramUid,
  measureNumFields,
  measureFieldCount,
  measureField,
  measureFieldBig,
} from './measure.ts';
export { encodeInstall, installLength } from './install.ts';
export { encodeUpdateFields, updateFieldsCount } from './update-fields.ts';
export type { UpdateRecordInput } from './update-fields.ts';
export { encodeChangeProg } from './change-prog.ts';
