/**
 * Boot the prepared kernel in qemu (software emulation: this machine kind's KVM cannot boot it),
 * with the host's root read-only over 9p and a writable 9p share for the results, and stream the
 * serial console: `PORTUS-VM ...` lines are progress, everything goes to console.log.
 * @module
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { progress, RigError, type Prepared } from './prepare.ts';

/** Boot options. */
export interface BootOptions {
  /** Host directory shared read-write; holds plan.sh and receives the results. */
  out: string;
  /** Kill the VM after this many seconds. */
  timeoutS: number;
  cpus?: number;
  memoryMb?: number;
}

/** qemu's command line. */
export function qemuArgs(p: Prepared, o: BootOptions): string[] {
  return [
    ...[
      '-accel',
      'tcg,thread=multi',
      '-cpu',
      'max',
      '-smp',
      String(o.cpus ?? 2),
      '-m',
      String(o.memoryMb ?? 2048),
    ],
    ...['-kernel', p.vmlinuz, '-initrd', p.initrd],
    ...['-append', 'console=ttyS0 quiet panic=-1 oops=panic'],
    ...['-nographic', '-no-reboot', '-nic', 'none'],
    ...['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'],
    ...['-virtfs', `local,path=${o.out},mount_tag=out,security_model=none`],
  ];
}

/** Boot, run the plan in `o.out/plan.sh`, resolve when the VM powers off. */
export function boot(p: Prepared, o: BootOptions): Promise<void> {
  const args = qemuArgs(p, o);
  progress(`booting ${p.kernelRelease} in qemu (TCG); console in ${join(o.out, 'console.log')}`);
  const log = createWriteStream(join(o.out, 'console.log'));
  const t0 = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const rl = createInterface({ input: child.stdout });
  let fatal = '';
  rl.on('line', (line) => {
    log.write(line + '\n');
    const i = line.indexOf('PORTUS-VM ');
    if (i >= 0) {
      const msg = line.slice(i + 10);
      if (msg.startsWith('FATAL')) fatal = msg;
      progress(`${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  ${msg}`);
    }
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      progress(`VM still running after ${o.timeoutS} s: killing it`);
      child.kill('SIGKILL');
    }, o.timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new RigError(`cannot start qemu: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end();
      progress(`VM powered off after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      if (fatal) reject(new RigError(`VM: ${fatal}`));
      else if (signal) reject(new RigError(`qemu killed (${signal}); see ${join(o.out, 'console.log')}`));
      else if (code !== 0) reject(new RigError(`qemu exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve();
    });
  });
}
