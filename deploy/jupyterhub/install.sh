#!/usr/bin/env bash
# Install JupyterHub, JupyterLab and odlake into PREFIX: a venv every user of the machine can
# read and run, made from the system's Python (a venv made from a Python in root's home
# would not run for them).
#
#   sudo deploy/jupyterhub/install.sh /opt/odlake
#
# odlake comes from this checkout (built into a wheel, lab extension included); from a
# package index it would be: "$PREFIX/bin/pip install jupyterlab-odlake".
# configurable-http-proxy comes from npm: sudo npm install -g configurable-http-proxy
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX}
python=${PYTHON:-/usr/bin/python3}
repo=$(cd "$(dirname "$0")/../.." && pwd)

[ -x "$prefix/bin/python" ] || "$python" -m venv "$prefix"
"$prefix/bin/python" -m pip install -q --upgrade pip
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
"$prefix/bin/python" -m pip wheel -q --no-deps -w "$wheels" "$repo"
"$prefix/bin/python" -m pip install -q "jupyterhub>=5,<7" "oauthenticator>=17.4,<18" "jupyterlab>=4.4,<5" "$wheels"/*.whl
"$prefix/bin/python" -m pip install -q --force-reinstall --no-deps "$wheels"/*.whl  # this checkout's, always
chmod -R a+rX "$prefix"
"$prefix/bin/jupyter" labextension list 2>&1 | grep "jupyterlab-odlake.*enabled.*OK" >/dev/null
echo "JupyterHub and odlake are installed in $prefix"
