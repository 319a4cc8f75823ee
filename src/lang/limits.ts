/**
 * Limits a compiled program must respect (spec `language.md` §8.6 and §9.4,
 * `wire-protocol.md` §9). portus' own limits are the register-index checks of its serializer;
 * the temp, instruction and event limits are the stricter ones libccp needs to run the program.
 * @module
 */

/** Limits enforced by the compiler. */
export const Limits = {
  /** Report variables (portus: index ≤ 15). */
  REPORT_VARS: 16,
  /** Control variables (portus: index ≤ 15). */
  CONTROL_VARS: 16,
  /** Locals that appear in instructions (portus: index ≤ 5). */
  LOCALS: 6,
  /** Temporaries in one condition or statement (libccp has 8 temp registers; portus allows 16). */
  TEMPS: 8,
  /** Instructions per program (libccp's 8-bit loop counter: 256 would hang the datapath). */
  INSTRUCTIONS: 255,
  /** `when` clauses per program (libccp `MAX_EXPRESSIONS`). */
  EVENTS: 256,
  /** Largest program source in UTF-8 bytes (1 MiB; real programs are a few hundred bytes). */
  SOURCE_BYTES: 1 << 20,
  /** Largest numeric immediate portus emits, apart from +infinity (2^31 − 1). */
  IMMEDIATE_MAX: 0x7fff_ffff,
} as const;

/** libccp turns a DEF default of exactly this value into 0xFFFFFFFF (wire-protocol §6.6). */
export const DEF_SENTINEL = 0x3fff_ffff;
