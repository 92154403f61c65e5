"""JupyterLab for the browser tests: Galata's settings, on loopback, wired to the demo lake.

The lake (ODLAKE_LAKE_HOME) is started by .ci/test before the tests and stopped after.
A second instance points at a port where nothing listens, to show how a dead lake looks.
"""

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from jupyterlab_odlake.core.config import from_lake

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("ODLAKE_UI_PORT", "8888"))  # noqa: F821
c.ServerApp.port_retries = 0  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.LabApp.news_url = None  # noqa: F821
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"  # noqa: F821
c.Odlake.cache_dir = os.environ.get("ODLAKE_CACHE_DIR") or tempfile.mkdtemp(prefix="odlake-ui-cache-")  # noqa: F821

_home = Path(os.environ["ODLAKE_LAKE_HOME"])
_demo = dict(asdict(from_lake(_home)), password=None, password_file=str(_home / "etc" / "password"))
c.Odlake.instances = [  # noqa: F821
    _demo,
    {"name": "dead", "display_name": "Unreachable lake", "rucio_host": "http://127.0.0.1:9", "account": "root",
     "username": "odlake", "password_file": _demo["password_file"], "timeout": 5},
]  # fmt: skip
c.Odlake.default_instance = "demo"  # noqa: F821
