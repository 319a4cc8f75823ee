// INSTALL_EXPR bytes of language.md §13 examples A (uid 1), B (uid 2) and C (uid 3), as Buffers;
// the hex itself lives in test/fixtures/spec-vectors.ts.
import { INSTALL_A, INSTALL_B, INSTALL_C, hex } from '../fixtures/spec-vectors.ts';

export const EXAMPLE_A = hex(INSTALL_A);

export const EXAMPLE_B = hex(INSTALL_B);

export const EXAMPLE_C = hex(INSTALL_C);
