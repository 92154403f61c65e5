#!/usr/bin/env bash
# Build the single-user image here and check it against a demo lake on this machine.
#
# No image registry is reachable here, so the base is made from Debian's packages
# (mmdebstrap, imported with podman) instead of the Jupyter Docker Stacks image; buildah
# builds with chroot isolation (RUN steps work) and runs the check in the image with
# "buildah run", which shares this machine's loopback. Root only; takes minutes; by hand:
#
#   sudo deploy/container/check.sh [LAKE_HOME]      # default: $TMPDIR/odlake-container-lake
#
# It prints the build time, the image's size and what the checks saw.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
lake_home=${1:-${TMPDIR:-/tmp}/odlake-container-lake}
work=$(mktemp -d)
ctr=""
cleanup() {
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  .venv/bin/odlake lake down --home "$lake_home" >/dev/null 2>&1 || true  # the check's own lake
  rm -rf "$work"
}
trap cleanup EXIT
for tool in buildah podman mmdebstrap; do
  command -v $tool >/dev/null || { echo "install $tool (apt-get install buildah podman mmdebstrap)" >&2; exit 1; }
done

# 1. a Debian base with python3 and pip, in place of quay.io/jupyter/scipy-notebook
if ! podman image exists localhost/odlake-debian-base; then
  mmdebstrap --variant=apt --include=python3,python3-pip,python3-venv,ca-certificates,git bookworm "$work/base.tar"
  podman import "$work/base.tar" localhost/odlake-debian-base >/dev/null
fi

# 2. the build context: odlake's wheel (lab extension included) and the system-wide config
mkdir -p "$work/context/wheels"
.venv/bin/python -m pip wheel -q --no-deps -w "$work/context/wheels" "$repo"
cp deploy/jupyterhub/odlake.json "$work/context/odlake.json"
secret=()  # this machine's CA bundle, for a TLS-intercepting proxy to the package index
ca=${PIP_CERT:-${SSL_CERT_FILE:-}}
[ -n "$ca" ] && [ -f "$ca" ] && secret=(--secret "id=ca,src=$ca")
start=$(date +%s)
buildah bud -q --isolation chroot "${secret[@]}" --build-arg BASE=localhost/odlake-debian-base \
  -f deploy/container/Containerfile -t localhost/odlake-singleuser "$work/context" >/dev/null
built=$(( $(date +%s) - start ))
size=$(podman image inspect localhost/odlake-singleuser --format '{{.Size}}')

# 3. a demo lake on this machine, and a user of it whose password the image's server reads
.venv/bin/odlake lake up --home "$lake_home" >/dev/null
rucio=$(.venv/bin/odlake lake status --home "$lake_home" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"]["rucio"]["url"])')
.venv/bin/odlake lake user add carla --home "$lake_home" --credential-file "$lake_home/users/carla.password" >/dev/null

ctr=$(buildah from localhost/odlake-singleuser)
buildah run --isolation chroot --user root "$ctr" -- sh -c 'useradd -m -u 4242 carla && mkdir -p /home/carla/.config/odlake'
buildah copy --chown 4242:4242 "$ctr" "$lake_home/users/carla.password" /home/carla/.config/odlake/rucio-password >/dev/null
buildah run --isolation chroot --user root "$ctr" -- chmod 0600 /home/carla/.config/odlake/rucio-password

echo "== in the image: jupyter labextension list"
buildah run --isolation chroot "$ctr" -- jupyter labextension list 2>&1 | grep odlake
port=$(.venv/bin/python -c "from jupyterlab_odlake.lake.services import free_port; print(free_port())")
token=$(.venv/bin/python -c "import secrets; print(secrets.token_hex(16))")
echo "== in the image: jupyter server as carla, GET /odlake/instances"
buildah run --isolation chroot --user 4242:4242 \
  --env HOME=/home/carla --env JUPYTERHUB_USER=carla --env ODLAKE_RUCIO_HOST="$rucio" \
  "$ctr" -- jupyter server --ip=127.0.0.1 --port="$port" --IdentityProvider.token="$token" \
  --ServerApp.root_dir=/home/carla >"$work/server.log" 2>&1 &
server=$!
answer=""
for _ in $(seq 1 120); do
  answer=$(curl -sf -H "Authorization: token $token" "http://127.0.0.1:$port/odlake/instances" || true)
  [ -n "$answer" ] && break
  sleep 1
done
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
pkill -f "port=$port" 2>/dev/null || true
echo "$answer" | python3 -c '
import json, sys
[lake] = json.load(sys.stdin)["instances"]
print("instance %(name)s: authenticated=%(authenticated)s account=%(account)s rucio=%(rucio_host)s" % lake)
assert lake["authenticated"] and lake["account"] == "carla", lake
'
echo "image localhost/odlake-singleuser: built in ${built} s, $(( size / 1000000 )) MB"
echo "check passed"
