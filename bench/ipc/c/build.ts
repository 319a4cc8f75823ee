/**
 * Builds the C programs of the IPC benchmark and tests against the real libccp
 * (`../shared/third_party/libccp`, or `$PORTUS_LIBCCP`): the libccp load generator, the minimal
 * C agent and the ping-pong floor. The read-only libccp tree is copied (`cp -rL`) into a cache
 * directory keyed by the sources' hash and built there with its own Makefile; concurrent callers
 * build into private directories and the first rename wins.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths of the built executables. */
export interface CTools {
  loadgen: string;
  agent: string;
  pingpong: string;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PROGRAMS = ['loadgen', 'agent', 'pingpong'] as const;

/** The libccp source tree: `$PORTUS_LIBCCP` or `../shared/third_party/libccp` beside the repo. */
export function libccpDir(): string {
  return (
    process.env.PORTUS_LIBCCP ??
    fileURLToPath(new URL('../../../../shared/third_party/libccp', import.meta.url))
  );
}

/** Build (or reuse) the C tools; throws with the compiler's output when a build fails. */
export function buildCTools(): CTools {
  const src = libccpDir();
  if (!existsSync(join(src, 'ccp.h')))
    throw new Error(`libccp sources not found at ${src} (set PORTUS_LIBCCP)`);
  const hash = createHash('sha256');
  for (const dir of [src, HERE]) {
    for (const f of readdirSync(dir).sort()) {
      if (/\.(c|h)$|^Makefile$/.test(f)) hash.update(f).update(readFileSync(join(dir, f)));
    }
  }
  const out = join(tmpdir(), `portus-ipc-c-${hash.digest('hex').slice(0, 16)}`);
  const tools = Object.fromEntries(PROGRAMS.map((p) => [p, join(out, p)])) as unknown as CTools;
  if (PROGRAMS.every((p) => existsSync(join(out, p)))) return tools;

  const work = mkdtempSync(join(tmpdir(), 'portus-ipc-c-build-'));
  try {
    const lib = join(work, 'libccp');
    cpSync(src, lib, { recursive: true, dereference: true });
    const cc = process.env.CC ?? 'cc';
    execFileSync('make', ['-C', lib, `CC=${cc}`, 'libccp.a'], { stdio: 'pipe' });
    for (const p of PROGRAMS) {
      execFileSync(
        cc,
        ['-O2', '-Wall', '-I', lib, '-o', join(work, p), join(HERE, `${p}.c`), join(lib, 'libccp.a'), '-lm'],
        { stdio: 'pipe' },
      );
    }
    rmSync(lib, { recursive: true, force: true });
    try {
      renameSync(work, out);
    } catch {
      // another process finished first: use its build
    }
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`building the IPC C tools failed: ${e.stderr?.toString() ?? e.message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return tools;
}
