#!/bin/sh
# Regenerates the test-vector corpus (test/vectors/generate.ts, after the build) into a temporary
# directory and fails when it differs from the committed test/vectors/NN-*.json: a scenario edited
# without regenerating, or a generator that is no longer deterministic. Nothing is written into the tree.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LBDSR_VECTORS_OUT="$tmp" node dist/test/vectors/generate.js >/dev/null
mkdir "$tmp/committed"
cp test/vectors/[0-9][0-9]-*.json "$tmp/committed/"
mkdir "$tmp/generated"
mv "$tmp"/*.json "$tmp/generated/"
if ! diff -ru "$tmp/committed" "$tmp/generated"; then
  echo "test/vectors differs from what generate.ts produces: run 'npm run vectors' and commit" >&2
  exit 1
fi
echo "test vectors: $(ls "$tmp/generated" | wc -l) files, equal to what generate.ts produces"
