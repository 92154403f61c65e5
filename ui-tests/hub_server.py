"""The JupyterHub of deploy/jupyterhub for the browser test of a hub login, on the UI tests' lake.

Started by Playwright (playwright.config.js) when the tests run as root: the hub on
ODLAKE_HUB_UI_PORT, alice with a Rucio identity in the lake named by ODLAKE_LAKE_HOME, the
shared password ODLAKE_HUB_UI_PASSWORD. Stops the hub and alice's server on SIGTERM.
"""

import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from hub import running_hub

from jupyterlab_odlake.lake import manager
from jupyterlab_odlake.lake.home import LakeHome


def main() -> None:
    home = LakeHome.resolve(os.environ["ODLAKE_LAKE_HOME"])
    state, _ = manager.status(home)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leave the context below: the hub stops
    work = Path(tempfile.mkdtemp(prefix="odlake-ui-hub-"))
    port, password = int(os.environ["ODLAKE_HUB_UI_PORT"]), os.environ["ODLAKE_HUB_UI_PASSWORD"]
    with running_hub(home, state, work, ("alice",), ("alice",), port=port, password=password):
        print(f"hub on http://127.0.0.1:{port}", flush=True)
        signal.pause()


if __name__ == "__main__":
    main()
