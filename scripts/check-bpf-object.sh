#!/bin/sh
# Rebuilds the committed XDP objects from bpf/ and fails when the bytes differ from what is
# committed (the objects ship in the package so that nobody needs clang to run lbdsr).
set -eu
cd "$(dirname "$0")/.."
make -s -C bpf clean all
if ! git diff --exit-code --stat -- bpf/lbdsr.bpf.o bpf/ceiling.bpf.o bpf/pass.bpf.o bpf/bench.bpf.o; then
  echo "check-bpf-object: bpf/*.bpf.o differ from a fresh build of bpf/*.c: run 'make -C bpf' and commit the objects" >&2
  exit 1
fi
echo "check-bpf-object: committed objects match a fresh build ($(clang --version | head -n1))"
