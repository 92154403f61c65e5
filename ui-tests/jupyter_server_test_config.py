"""JupyterLab for the browser tests: Galata's settings, on loopback, wired to the demo lake.

The lake (ODLAKE_LAKE_HOME) is started by .ci/test before the tests and stopped after.
"""

import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("ODLAKE_UI_PORT", "8888"))  # noqa: F821
c.ServerApp.port_retries = 0  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.LabApp.news_url = None  # noqa: F821
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"  # noqa: F821
c.Odlake.cache_dir = os.environ.get("ODLAKE_CACHE_DIR") or tempfile.mkdtemp(prefix="odlake-ui-cache-")  # noqa: F821
