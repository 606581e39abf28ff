#!/usr/bin/env bash
# What this machine is, for reading any benchmark's numbers: the CPU model,
# whether it has AVX-512 (the JSON parser's icelake kernel) or AVX2, the
# kernel's Meltdown/Spectre mitigations (page-table isolation makes every
# system call dearer), and the cost of one trivial system call and of one
# loopback TCP round trip, measured here. The lookup and ingest benchmarks
# spend most of their CPU in system calls (theirs and the load tool's), so
# their numbers move with these two more than with anything in viewpipe.
#
#   bench/machine.sh        # a few seconds; prints one line per fact
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
BIN=build/machine_probe
if [[ ! -x $BIN || bench/machine_probe.c -nt $BIN ]]; then
  cc -O2 -o "$BIN" bench/machine_probe.c
fi
model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
fam=$(awk -F': ' '/^cpu family/ {print $2; exit}' /proc/cpuinfo)
mod=$(awk -F': ' '/^model\t/ {print $2; exit}' /proc/cpuinfo)
step=$(awk -F': ' '/^stepping/ {print $2; exit}' /proc/cpuinfo)
flags=$(awk -F': ' '/^flags/ {print $2; exit}' /proc/cpuinfo)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || { echo no; return; }; done; echo yes; }
echo "cpu:         $model (family $fam, model $mod, stepping $step), $(nproc) cores"
# The instruction sets of CMakeLists.txt's VP_JSON_ARCH (its own check picks the kernel).
echo "simd:        avx2 $(has avx2 bmi1 bmi2 pclmulqdq);" \
  "avx512 f/dq/cd/bw/vl/vbmi2 $(has avx512f avx512dq avx512cd avx512bw avx512vl avx512_vbmi2)"
echo "hypervisor:  $([[ " $flags " == *" hypervisor "* ]] && echo yes || echo no); kernel $(uname -r)"
v=/sys/devices/system/cpu/vulnerabilities
echo "meltdown:    $(cat $v/meltdown 2>/dev/null || echo unknown)"
echo "spectre_v2:  $(cut -c1-60 $v/spectre_v2 2>/dev/null || echo unknown)"
echo "load:        $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN"
