"""``odlake demo``: the demo lake plus a JupyterLab wired to it, stopped together.

Ctrl-C (SIGINT), SIGTERM (a service manager, ``kill``) and SIGHUP (a closed terminal)
all stop JupyterLab, its kernels and the lake: JupyterLab runs in a session of its own,
so it would not see the terminal's signals.
"""

from __future__ import annotations

import signal
import sys

from . import manager
from .home import LakeHome
from .jupyter import JupyterServer, start_jupyter

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """The demo was asked to stop by a signal."""


def _stop(signum: int, _frame: object) -> None:
    for sig in STOP_SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def run(home: LakeHome, size: str, db: str, port: int | None, notebook_dir: str | None) -> int:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    lab: JupyterServer | None = None
    try:
        state = manager.up(home, size=size, db=db)
        lab = start_jupyter(home, port=port, root_dir=notebook_dir, env={"RUCIO_CONFIG": str(home.rucio_cfg)})
        print(f"\nJupyterLab with the Open Data lake is running:\n\n    {lab.url}lab?token={lab.token}\n")
        print(f"Lake: Rucio {state['rucio']['url']}, storage {state['storage']['url']}, home {home.root}")
        print(f"      RUCIO_CONFIG={home.rucio_cfg}")
        print("Press Ctrl-C to stop JupyterLab and the lake.", flush=True)
        code = lab.process.wait()
        print(f"JupyterLab exited (code {code}); see {lab.log}", file=sys.stderr)
        return 1
    except Stopped as stopped:
        print(f"\n{stopped}: stopping JupyterLab and the lake…", flush=True)
        return 0
    finally:
        if lab is not None:
            lab.stop()
        manager.down(home, log=lambda *_: None)
