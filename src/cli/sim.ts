// PLACEHOLDER — owned by the helper implementing `portus sim`; replaced before any release.
import type { Command } from 'commander';

export function register(_program: Command): void {}
