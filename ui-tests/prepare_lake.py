"""Bring up the demo lake for the browser tests and add a 2,100-file dataset to scroll through.

python prepare_lake.py HOME
"""

import os
import sys

from jupyterlab_odlake.lake import manager
from jupyterlab_odlake.lake.home import LakeHome
from jupyterlab_odlake.lake.register import register_large_dataset

LARGE_DATASET = "ui.2100"
HOSTILE_DATASET = "ui.hostile"
KEYWORD_DATASET = "class"
HOSTILE_TEXT = "<img src=x onerror=alert(1)>"
HOSTILE_SCOPE = "hostile"

if __name__ == "__main__":
    home = LakeHome.resolve(sys.argv[1])
    manager.up(home)
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client

    client = Client()
    register_large_dataset(client, LARGE_DATASET, 2_100, prefix="ui")
    # a DID named like a Python keyword: dropped on a notebook, the kernel names its variable class_
    register_large_dataset(client, KEYWORD_DATASET, 1)
    # metadata that would run script if a view rendered it as HTML
    if register_large_dataset(client, HOSTILE_DATASET, 1, prefix="hostile"):
        client.set_metadata_bulk(
            "opendata", HOSTILE_DATASET, {"physics_short": HOSTILE_TEXT, "sample_type": "<b>mc</b>"}
        )
    # a scope of its own (the UI's "hostile" instance lists only it): an analysis named in HTML
    if HOSTILE_SCOPE not in client.list_scopes():
        client.add_scope("root", HOSTILE_SCOPE)
        client.add_container(HOSTILE_SCOPE, "analysis")
        client.set_metadata_bulk(HOSTILE_SCOPE, "analysis", {"channel": HOSTILE_TEXT})
        client.add_dataset(HOSTILE_SCOPE, "analysis.Data")
        client.attach_dids(HOSTILE_SCOPE, "analysis", [{"scope": HOSTILE_SCOPE, "name": "analysis.Data"}])
    # the demo user signed in where the test server keeps its sign-ins (jupyter_server_test_config.py), as
    # `odlake demo` signs it in: the panel says whose token it reads with, and the secrets test has one more
    from jupyterlab_odlake.lake.signin import sign_in_demo_user

    sign_in_demo_user(home, home.root / "jupyter-state")
    print(f"lake ready in {home.root}")
