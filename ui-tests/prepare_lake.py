"""Bring up the demo lake for the browser tests and add a 10,000-file dataset to scroll through.

    python prepare_lake.py HOME
"""

import os
import sys

from jupyterlab_odlake.lake import manager
from jupyterlab_odlake.lake.home import LakeHome
from jupyterlab_odlake.lake.register import register_large_dataset

LARGE_DATASET = "ui.10k"

if __name__ == "__main__":
    home = LakeHome.resolve(sys.argv[1])
    manager.up(home)
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client

    register_large_dataset(Client(), LARGE_DATASET, 10_000, prefix="ui")
    print(f"lake ready in {home.root}")
