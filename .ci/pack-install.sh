#!/usr/bin/env bash
# What a user of the published packages gets: packs every workspace package with `npm pack`,
# checks each tarball carries its README, LICENSE, package.json engines and the files its
# exports and bins name, installs the tarballs into an empty directory with `npm install`, and
# from there runs the Modbus simulator (`npx edgetwin-modbus-sim`) and `npx edgetwin edge`, which
# starts the packaged Modbus mapper; passes when a reported value from the simulator arrives
# over HTTP and a desired value is written to the device and reported back.
# Usage: .ci/pack-install.sh [OUT_DIR]   (the tarballs are left in OUT_DIR/packs for image builds)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-.ci-out/pack}")
rm -rf "$out"
mkdir -p "$out/packs" "$out/app"
workspaces=(sdk device-twin console core/agent core/cloud-link core/edgecore core/cloudcore core mappers/modbus mappers/opcua mappers/ble mappers/zigbee)

args=()
for w in "${workspaces[@]}"; do args+=(-w "$w"); done
npm pack "${args[@]}" --pack-destination "$out/packs" --json >"$out/pack.json"
node - "$out/pack.json" <<'JS'
const [file] = process.argv.slice(2);
const packs = JSON.parse(require('fs').readFileSync(file, 'utf8'));
let bad = 0;
for (const p of packs) {
  const files = new Set(p.files.map((f) => f.path));
  const need = ['README.md', 'LICENSE', 'package.json'];
  for (const n of need) if (!files.has(n)) { console.error(`${p.name}: ${n} missing from the tarball`); bad++; }
  // compiled output only: no TypeScript sources (src/, sim/, bench/, test/ beside dist/), no build info
  for (const f of files) if (/^(test|src|sim|bench)\//.test(f) || /(?<!\.d)\.ts$/.test(f) || f.endsWith('.tsbuildinfo')) { console.error(`${p.name}: ships ${f}`); bad++; }
  console.log(`${p.filename}: ${p.files.length} files, ${(p.size / 1024).toFixed(0)} KiB packed`);
}
process.exit(bad ? 1 : 0);
JS
# exports, bins and engines of each packed manifest point at files that are in its tarball
for tgz in "$out"/packs/*.tgz; do
  node - "$tgz" <<'JS'
const { execFileSync } = require('child_process');
const tgz = process.argv[2];
const list = new Set(execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').map((l) => l.replace(/^package\//, '')));
const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }));
const problems = [];
if (!pkg.engines?.node) problems.push('no engines.node');
if (!pkg.license || !pkg.description) problems.push('no license or description');
const targets = [];
const walk = (v) => (typeof v === 'string' ? targets.push(v) : v && Object.values(v).forEach(walk));
walk(pkg.exports);
walk(pkg.bin);
for (const t of targets) if (!list.has(t.replace(/^\.\//, ''))) problems.push(`${t} is not in the tarball`);
if (problems.length) {
  console.error(`${pkg.name}: ${problems.join('; ')}`);
  process.exit(1);
}
JS
done

cd "$out/app"
echo '{ "name": "edge-box", "private": true }' >package.json
npm install --no-audit --no-fund "$out"/packs/*.tgz 2>&1 | tee npm-install.log

port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
modbus=$(port)
http=$(port)
mqtt=$(port)
mkdir -p devices data
sed -e "s/port: 5020/port: $modbus/" -e 's/nodeName: quickstart-node/nodeName: box-1/' \
  "$repo/examples/quickstart/devices/thermostat.yaml" >devices/thermostat.yaml
pids=()
# Each command runs in its own process group (setsid), so the whole tree npx starts (edgecore and
# its mappers, the simulator) is stopped, not only npx.
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
setsid npx --no-install edgetwin-modbus-sim --config node_modules/@edgetwin/mapper-modbus/examples/thermostat.sim.yaml \
  --port "$modbus" >sim.log 2>&1 &
pids+=($!)
setsid npx --no-install edgetwin edge --devices devices --data-dir data --node-name box-1 --http-port "$http" \
  --mqtt-port "$mqtt" --log-level warn >edge.log 2>&1 &
pids+=($!)
twin="http://127.0.0.1:$http/api/v1/devices/default/thermostat-1/twin"
for i in $(seq 1 120); do
  if curl -sf "$twin" 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const t = JSON.parse(s); process.exit(typeof t.reported?.temperature?.value === "number" ? 0 : 1);
    });'; then
    break
  fi
  if [ "$i" = 120 ]; then
    echo "no temperature from the Modbus simulator after 60 s" >&2
    cat edge.log sim.log >&2
    exit 1
  fi
  sleep 0.5
done
curl -s "$twin" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log("reported temperature:", JSON.parse(s).reported.temperature.value))'
code=$(curl -s -o patch.json -w '%{http_code}' -X PATCH -H 'content-type: application/merge-patch+json' \
  -d '{"setpoint": 24.5}' "$twin/desired?wait=reported&timeout=10000")
if [ "$code" != 200 ]; then
  echo "PATCH setpoint answered $code: $(cat patch.json)" >&2
  cat edge.log >&2
  exit 1
fi
echo "setpoint 24.5 written through the packaged mapper and reported back (HTTP $code)"
# the device itself, read by an independent Modbus master: holding register 1 holds 245 (tenths)
if command -v mbpoll >/dev/null; then
  mbpoll -m tcp -p "$modbus" -a 1 -t 4 -r 2 -c 1 -1 127.0.0.1 | tee mbpoll.log
  grep -q '^\[2\]:[[:space:]]*245$' mbpoll.log || { echo "mbpoll did not read 245 from the simulator" >&2; exit 1; }
fi
