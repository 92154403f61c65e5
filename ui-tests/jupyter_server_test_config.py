"""JupyterLab for the browser tests: Galata's settings, on loopback, wired to the demo lake.

The lake (ODLAKE_LAKE_HOME) is started by .ci/test before the tests and stopped after.
A second instance points at a port where nothing listens, to show how a dead lake looks;
a third lists only the scope whose names and metadata are HTML, to show they stay text.
"""

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

from jupyterlab_odlake.core.config import from_lake

configure_jupyter_server(c)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("ODLAKE_UI_PORT", "8888"))
c.ServerApp.port_retries = 0
c.ServerApp.allow_root = True
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.Odlake.cache_dir = os.environ.get("ODLAKE_CACHE_DIR") or tempfile.mkdtemp(prefix="odlake-ui-cache-")

_home = Path(os.environ["ODLAKE_LAKE_HOME"])
# beside the lake, so that the secrets test finds the Rucio tokens the server holds
c.Odlake.state_dir = str(_home / "jupyter-state")
_demo = dict(asdict(from_lake(_home)), password=None, password_file=str(_home / "etc" / "password"))
c.Odlake.instances = [
    _demo,
    {
        "name": "dead",
        "display_name": "Unreachable lake",
        "rucio_host": "http://127.0.0.1:9",
        "account": "root",
        "username": "odlake",
        "password_file": _demo["password_file"],
        "timeout": 5,
    },
    # the same lake seen through a scope whose analysis is named in HTML (ui-tests/prepare_lake.py)
    dict(_demo, name="hostile", display_name="Hostile names", scopes=["hostile"]),
]
c.Odlake.default_instance = "demo"
