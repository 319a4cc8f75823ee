/**
 * Host-side preparation of the kernel rig: Debian's 6.1 kernel packages (downloaded with
 * `apt-get download`, never installed), `ccp-cong.ko` built from ../shared/third_party against
 * their headers, and a small initramfs (static busybox + the modules the VM needs). Everything is
 * cached under `~/.cache/portus-kernel` (or `$PORTUS_KERNEL_CACHE`).
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  renameSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newcArchive, type CpioEntry } from './cpio.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const REPO = resolve(HERE, '../../..');
/** Modules the initramfs loads before mounting the host (virtio PCI + 9p), in dependency order. */
const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];
/** Modules for the scenarios: veth pairs, shaping (tbf, netem), and tcp_diag for `ss -tin`. */
export const SCENARIO_MODULES = ['veth', 'sch_tbf', 'sch_netem', 'tcp_diag'];

/** Everything the boot needs, all paths on the host. */
export interface Prepared {
  cache: string;
  kernelRelease: string;
  vmlinuz: string;
  initrd: string;
  module: string;
}

/** Print one progress line (stderr, so test output on stdout stays clean). */
export function progress(msg: string): void {
  process.stderr.write(`[kernel] ${msg}\n`);
}

/** Fail loudly with a reason. */
export class RigError extends Error {}

function sh(cmd: string, args: string[], opts: { cwd?: string; quiet?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new RigError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new RigError(
      `${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stderr || r.stdout).slice(-4000)}`,
    );
  }
  return r.stdout;
}

/** The cache directory. */
export function cacheDir(): string {
  return process.env.PORTUS_KERNEL_CACHE ?? join(homedir(), '.cache', 'portus-kernel');
}

/** Debian's current 6.1 ABI (e.g. `6.1.0-57-amd64`) from the metapackage, or $PORTUS_KERNEL_RELEASE. */
function kernelRelease(): string {
  if (process.env.PORTUS_KERNEL_RELEASE) return process.env.PORTUS_KERNEL_RELEASE;
  const out = sh('apt-cache', ['depends', 'linux-image-amd64']);
  const m = /linux-image-(6\.1\.\d+-\d+-amd64)/.exec(out);
  if (!m) {
    throw new RigError(
      'cannot find the Debian 6.1 kernel package (apt-cache depends linux-image-amd64); run apt-get update, or set PORTUS_KERNEL_RELEASE',
    );
  }
  return m[1];
}

/** Download (once) and unpack the kernel image, headers and kbuild into `<cache>/<release>/root`. */
function kernelTree(cache: string, release: string): string {
  const base = join(cache, release);
  const root = join(base, 'root');
  const stamp = join(base, 'unpacked');
  if (existsSync(stamp)) {
    progress(`kernel ${release}: cached in ${base}`);
    return root;
  }
  const debs = join(base, 'debs');
  mkdirSync(debs, { recursive: true });
  const abi = release.replace(/-amd64$/, '');
  const pkgs = [
    `linux-image-${release}`,
    `linux-headers-${release}`,
    `linux-headers-${abi}-common`,
    'linux-kbuild-6.1',
  ];
  progress(`downloading ${pkgs.join(' ')} (apt-get download, not installed)`);
  sh('apt-get', ['download', ...pkgs], { cwd: debs });
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const f of readdirSync(debs).filter((n) => n.endsWith('.deb'))) {
    progress(`unpacking ${f}`);
    sh('dpkg', ['-x', join(debs, f), root]);
  }
  // The headers point at /usr/src/...: repoint the Makefile include and the modules' symlinks.
  const hdrs = join(root, 'usr/src', `linux-headers-${release}`);
  const mk = join(hdrs, 'Makefile');
  writeFileSync(mk, readFileSync(mk, 'utf8').replace(/^include \/usr\/src\//m, `include ${root}/usr/src/`));
  const mods = join(root, 'lib/modules', release);
  for (const link of ['build', 'source']) {
    const p = join(mods, link);
    const target = readlinkSync(p);
    rmSync(p);
    symlinkSync(join(root, target), p);
  }
  writeFileSync(stamp, new Date().toISOString() + '\n');
  return root;
}

/** Build ccp-cong.ko (netlink IPC) against the headers; cached by the sources' and patch's hash. */
function buildModule(cache: string, root: string, release: string): string {
  const third = resolve(REPO, '../shared/third_party');
  const patch = join(HERE, '..', 'linux-6.1-cong-control.patch');
  if (!existsSync(join(third, 'ccp-kernel', 'tcp_ccp.c'))) {
    throw new RigError(`ccp-kernel sources not found in ${third}`);
  }
  const hash = createHash('sha256');
  for (const dir of ['ccp-kernel', 'libccp']) {
    for (const f of readdirSync(join(third, dir)).sort()) {
      if (/\.(c|h)$|^Makefile$/.test(f)) hash.update(f).update(readFileSync(join(third, dir, f)));
    }
  }
  hash.update(readFileSync(patch)).update(release);
  const key = hash.digest('hex').slice(0, 16);
  const out = join(cache, release, `ccp-cong-${key}.ko`);
  if (existsSync(out)) {
    progress(`ccp-cong.ko: cached (${out})`);
    return out;
  }
  const work = join(cache, release, 'build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const src = join(work, 'ccp-kernel');
  progress('building ccp-cong.ko (IPC=0, netlink) against the 6.1 headers');
  cpSync(join(third, 'ccp-kernel'), src, {
    recursive: true,
    dereference: true,
    filter: (s) => !s.endsWith('/libccp'),
  });
  cpSync(join(third, 'libccp'), join(src, 'libccp'), { recursive: true, dereference: true });
  execFileSync('chmod', ['-R', 'u+w', src]);
  sh('patch', ['-p1', '-i', patch], { cwd: src });
  const hdrs = join(root, 'usr/src', `linux-headers-${release}`);
  sh('make', ['-C', hdrs, `M=${src}`, 'IPC=0', 'modules', `-j${Math.max(2, 2)}`]);
  copyFileSync(join(src, 'ccp-cong.ko'), out);
  progress(`ccp-cong.ko built (${out})`);
  return out;
}

/** Path of every module under the release's tree, by name. */
function moduleIndex(root: string, release: string): Map<string, string> {
  const idx = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) idx.set(e.name.slice(0, -3).replace(/-/g, '_'), p);
    }
  };
  walk(join(root, 'lib/modules', release, 'kernel'));
  return idx;
}

/** Read `depends=` from a module's .modinfo. */
function moduleDeps(file: string): string[] {
  const m = /depends=([^\0]*)/.exec(readFileSync(file, 'latin1'));
  return m && m[1] ? m[1].split(',').map((s) => s.replace(/-/g, '_')) : [];
}

/** Module files for `names`, dependencies first. */
export function moduleOrder(idx: Map<string, string>, names: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const f = idx.get(n);
    if (!f) throw new RigError(`kernel module ${n} not found`);
    for (const d of moduleDeps(f)) visit(d);
    order.push(f);
  };
  names.forEach(visit);
  return order;
}

function findBusybox(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (existsSync(p) && /statically linked|static-pie/.test(sh('file', ['-L', p]))) return p;
  }
  throw new RigError('static busybox not found: apt-get install busybox-static');
}

/** The initramfs: busybox, /init, and the boot + scenario modules (loaded in listed order). */
function buildInitrd(cache: string, root: string, release: string, module: string, extra: string[]): string {
  const idx = moduleIndex(root, release);
  const boot = moduleOrder(idx, BOOT_MODULES);
  const scen = moduleOrder(idx, [...SCENARIO_MODULES, ...extra]).filter((f) => !boot.includes(f));
  const busybox = findBusybox();
  const init = readFileSync(join(HERE, '..', 'vm', 'init.sh'));
  const entries: CpioEntry[] = [
    { path: 'bin', mode: 0o40755 },
    { path: 'bin/busybox', mode: 0o100755, data: readFileSync(busybox) },
    { path: 'init', mode: 0o100755, data: init },
    { path: 'modules', mode: 0o40755 },
  ];
  const list = (files: string[], tag: string): string =>
    files
      .map((f, i) => {
        const name = `${tag}${String(i).padStart(2, '0')}-${f.split('/').pop()}`;
        entries.push({ path: `modules/${name}`, mode: 0o100644, data: readFileSync(f) });
        return name;
      })
      .join('\n');
  entries.push({ path: 'modules/boot.list', mode: 0o100644, data: Buffer.from(list(boot, 'b') + '\n') });
  const scenList = list(scen, 's') + '\n' + list([module], 'z');
  entries.push({ path: 'modules/scenario.list', mode: 0o100644, data: Buffer.from(scenList + '\n') });
  const archive = newcArchive(entries);
  const out = join(cache, release, 'initrd.cpio');
  // Written aside and renamed: another run sharing the cache may be booting the previous one.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, archive);
  chmodSync(tmp, 0o644);
  renameSync(tmp, out);
  progress(`initramfs: ${(archive.length / 1e6).toFixed(1)} MB (${boot.length + scen.length + 1} modules)`);
  return out;
}

/** Check the host tools the rig needs, failing loudly with the apt package to install. */
function checkTools(): void {
  const need: [string, string][] = [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['iperf3', 'iperf3'],
    ['ss', 'iproute2'],
    ['tc', 'iproute2'],
    ['make', 'make'],
    ['gcc', 'gcc'],
    ['patch', 'patch'],
    ['file', 'file'],
    ['dpkg', 'dpkg'],
    ['apt-get', 'apt'],
  ];
  const missing = need.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length > 0) {
    throw new RigError(
      `missing tools: ${missing.map(([b]) => b).join(', ')}; apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`,
    );
  }
}

/** Download, build and pack everything the boot needs (cached). `extraModules`: more Debian modules to load. */
export function prepare(extraModules: string[] = []): Prepared {
  checkTools();
  const cache = cacheDir();
  mkdirSync(cache, { recursive: true });
  const release = kernelRelease();
  const root = kernelTree(cache, release);
  const module = buildModule(cache, root, release);
  const initrd = buildInitrd(cache, root, release, module, extraModules);
  return { cache, kernelRelease: release, vmlinuz: join(root, 'boot', `vmlinuz-${release}`), initrd, module };
}
