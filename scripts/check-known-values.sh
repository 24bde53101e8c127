#!/bin/sh
# Builds and runs the C oracle (test/vectors/tools/known-values.c: jhash2 after the kernel's jhash.h,
# Maglev after docs/semantics.md) and fails unless its output equals the committed known-values.out
# and the same lines printed from the product's TypeScript (dist/test/vectors/tools/known-values.js;
# run after the build). Nothing is written into the tree.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-$(command -v gcc || command -v clang)}
"$cc" -O2 -Wall -Werror -o "$tmp/known-values" test/vectors/tools/known-values.c
"$tmp/known-values" >"$tmp/c.out"
node dist/test/vectors/tools/known-values.js >"$tmp/ts.out"
status=0
diff -u test/vectors/tools/known-values.out "$tmp/c.out" || { echo "C oracle output differs from the committed known-values.out" >&2; status=1; }
diff -u "$tmp/c.out" "$tmp/ts.out" || { echo "the TypeScript jhash2/Maglev disagree with the C oracle" >&2; status=1; }
[ "$status" -eq 0 ] && echo "C oracle ($cc): $(wc -l <"$tmp/c.out") lines, equal to known-values.out and to the TypeScript"
exit "$status"
