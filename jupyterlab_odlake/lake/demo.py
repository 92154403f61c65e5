"""``odlake demo``: the demo lake plus a JupyterLab wired to it, stopped together by Ctrl-C."""

from __future__ import annotations

import sys
import time

from . import manager
from .home import LakeError, LakeHome
from .jupyter import start_jupyter


def run(home: LakeHome, size: str, db: str, port: int | None, notebook_dir: str | None) -> int:
    manager.up(home, size=size, db=db)
    try:
        lab = start_jupyter(home, port=port, root_dir=notebook_dir, env={"RUCIO_CONFIG": str(home.rucio_cfg)})
    except LakeError:
        manager.down(home, log=lambda *_: None)
        raise
    try:
        print(f"\nJupyterLab with the Open Data lake is running:\n\n    {lab.url}lab?token={lab.token}\n")
        state = home.load_state()
        print(f"Lake: Rucio {state['rucio']['url']}, storage {state['storage']['url']}, home {home.root}")
        print(f"      RUCIO_CONFIG={home.rucio_cfg}")
        print("Press Ctrl-C to stop JupyterLab and the lake.", flush=True)
        while lab.process.poll() is None:
            time.sleep(0.5)
        print(f"JupyterLab exited (code {lab.process.returncode}); see {lab.log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping JupyterLab and the lake…")
        return 0
    finally:
        lab.stop()
        manager.down(home, log=lambda *_: None)
