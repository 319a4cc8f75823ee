#!/usr/bin/env bash
# Builds the BPF datapath (npm run build:bpf) with Debian's clang, bpftool and libbpf-dev:
#   portus.bpf.o          struct_ops "portus", cong_control(sk, ack, flag, rs)  (Linux >= 6.10)
#   portus-pre610.bpf.o   the same with cong_control(sk, rs)                   (Linux 5.13 – 6.9)
#   portus-bpf-loader     the libbpf loader/relay (libbpf, libelf, zlib linked statically)
# into prebuilds/linux-x64/ (or $1). vmlinux.h comes from the build machine's kernel BTF
# ($BTF, default /sys/kernel/btf/vmlinux); the objects are CO-RE, so they load on other kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-prebuilds/linux-x64}"
btf="${BTF:-/sys/kernel/btf/vmlinux}"
src=native/bpf
for tool in clang bpftool llvm-strip cc; do
  command -v "$tool" >/dev/null || { echo "build-bpf: $tool not found (apt-get install clang llvm bpftool libbpf-dev gcc)" >&2; exit 1; }
done
[ -r "$btf" ] || { echo "build-bpf: no kernel BTF at $btf (set BTF=path to a vmlinux with BTF)" >&2; exit 1; }
[ -r /usr/include/bpf/bpf_helpers.h ] || { echo "build-bpf: libbpf-dev missing" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
bpftool btf dump file "$btf" format c >"$tmp/vmlinux.h"

# -mcpu=v3: clang 14 needs it for the atomic fetch-add/cmpxchg (docs/bpf.md).
bpf_cc() {
  clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
    -I"$tmp" -I"$src" "$@"
}
bpf_cc -c "$src/portus.bpf.c" -o "$tmp/portus.bpf.o"
bpf_cc -DPORTUS_CONG_CONTROL_OLD -c "$src/portus.bpf.c" -o "$tmp/portus-pre610.bpf.o"
for o in portus portus-pre610; do
  # keep BTF (CO-RE needs it), drop DWARF
  llvm-strip -g "$tmp/$o.bpf.o" -o "$tmp/out-$o.bpf.o"
done

cc -O2 -Wall -Wextra -Werror -I"$src" -o "$tmp/out-portus-bpf-loader" \
  "$src/loader.c" "$src/program.c" \
  -Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic
strip "$tmp/out-portus-bpf-loader"

# Move into place file by file (rename is atomic, so a concurrent build or a running loader never
# sees a half-written file); the loader goes last: tests rebuild when it is older than the sources.
for f in portus.bpf.o portus-pre610.bpf.o portus-bpf-loader; do
  cp "$tmp/out-$f" "$out/.$f.tmp.$$"
  mv -f "$out/.$f.tmp.$$" "$out/$f"
done
ls -l "$out"
