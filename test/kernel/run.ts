/**
 * `npm run test:kernel [-- scenario...]`: the real Linux datapath (ccp-kernel in Debian's 6.1
 * kernel under qemu) driven by this checkout's agent. Prepares (downloads, module build,
 * initramfs; cached), boots once, runs every scenario inside the VM, then checks each one here.
 * `PORTUS_SKIP_KERNEL=1` skips it; anything missing otherwise fails loudly.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepare, progress, REPO } from './rig/prepare.ts';
import { loadScenario } from './rig/results.ts';
import { boot } from './rig/vm.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';

/** The plan the VM runs: lib.sh, the topology, then each scenario in a subshell. */
export function planScript(scenarios: readonly Scenario[], node: string): string {
  const lines = [
    'set -u',
    `REPO=${JSON.stringify(REPO)}`,
    'OUT=/tmp/out',
    `NODE=${JSON.stringify(node)}`,
    'source "$REPO/test/kernel/vm/lib.sh"',
    'cd /tmp',
    'topology || { say "FATAL topology"; exit 1; }',
    'sysctl -qw net.ipv4.tcp_congestion_control=ccp || { say "FATAL ccp is not available"; exit 1; }',
    'say "ccp is the default congestion control; $(nproc) CPUs"',
  ];
  for (const s of scenarios) {
    lines.push(`scenario ${s.name}`, `( trap agent_stop EXIT; set -e${s.script}\n)`, 'scenario_end $?');
  }
  lines.push('say "all scenarios done"');
  return lines.join('\n') + '\n';
}

function buildIfPossible(): void {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  if (!pkg.scripts?.build) return;
  progress('npm run build (the VM runs the built agent)');
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed');
}

async function main(): Promise<void> {
  if (process.env.PORTUS_SKIP_KERNEL === '1') {
    progress('PORTUS_SKIP_KERNEL=1: kernel suite skipped');
    return;
  }
  const argv = process.argv.slice(2);
  const ri = argv.indexOf('--results');
  const existing = ri >= 0 ? argv[ri + 1] : undefined;
  const wanted = argv.filter((a, i) => !a.startsWith('-') && (ri < 0 || i !== ri + 1));
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  const scenarios = wanted.length > 0 ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  const t0 = Date.now();
  let out: string;
  if (existing) {
    out = existing; // re-check a previous run's results without booting
  } else {
    buildIfPossible();
    for (const s of scenarios) s.prepareHost?.();
    const prepared = prepare(scenarios.flatMap((s) => s.modules ?? []));
    out = mkdtempSync(join(tmpdir(), 'portus-kernel-'));
    writeFileSync(join(out, 'plan.sh'), planScript(scenarios, process.execPath));
    const timeoutS = Number(process.env.PORTUS_KERNEL_TIMEOUT ?? 1800);
    await boot(prepared, { out, timeoutS });
  }
  progress(`results in ${out}; checking`);
  for (const s of scenarios) {
    await test(`kernel: ${s.name} — ${s.summary}`, () => {
      const r = loadScenario(out, s.name);
      if (r.status !== 0) {
        throw new Error(
          `scenario script failed in the VM (status ${r.status}); see ${join(out, 'console.log')}`,
        );
      }
      for (const line of s.check(r)) progress(`  ${s.name}: ${line}`);
    });
  }
  progress(`kernel suite: ${((Date.now() - t0) / 1000).toFixed(0)} s in total`);
}

await main().catch((e: unknown) => {
  progress(`FAILED: ${(e as Error).message}`);
  process.exitCode = 1;
});
