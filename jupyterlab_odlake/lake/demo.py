"""``odlake demo``: the demo lake plus a JupyterLab wired to it, stopped together.

Ctrl-C (SIGINT), SIGTERM (a service manager, ``kill``) and SIGHUP (a closed terminal)
all stop JupyterLab, its kernels and what the demo started of the lake: JupyterLab runs in
a session of its own, so it would not see the terminal's signals. A lake that was already
running in the home (a hub's shared lake, ``$ODLAKE_LAKE_HOME``) is used as it is and left
running; of a lake found in part, only the servers the demo started again are stopped.
"""

from __future__ import annotations

import signal
import sys

from . import manager
from .home import LakeError, LakeHome
from .jupyter import JupyterServer, start_jupyter

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """The demo was asked to stop by a signal."""


def _stop(signum: int, _frame: object) -> None:
    for sig in STOP_SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def run(home: LakeHome, size: str, db: str, port: int | None, notebook_dir: str | None) -> int:
    found = _running(home)  # should `up` fail, what runs then and did not before is stopped
    keep: set[str] | None = None  # the lake's servers the demo did not start, left running
    servers: list[str] = []
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    lab: JupyterServer | None = None
    try:
        state = manager.up(home, size=size, db=db)
        servers = manager.service_names(home, state)
        keep = {name for name in servers if name not in state["started"]}
        print(_sign_in(home), flush=True)
        lab = start_jupyter(home, port=port, root_dir=notebook_dir, env={"RUCIO_CONFIG": str(home.rucio_cfg)})
        print(f"\nJupyterLab with the Open Data lake is running:\n\n    {lab.url}lab?token={lab.token}\n")
        print(f"Lake: {_which_lake(home, servers, keep)}")
        print(f"      Rucio {state['rucio']['url']}, storage {state['xrootd']['https_url']}")
        print(f"      RUCIO_CONFIG={home.rucio_cfg}")
        print(f"Press Ctrl-C to stop {_what_stops(servers, keep)}.", flush=True)
        code = lab.process.wait()
        print(f"JupyterLab exited (code {code}); see {lab.log}", file=sys.stderr)
        return 1
    except Stopped as stopped:
        print(f"\n{stopped}: stopping {_what_stops(servers, keep)}…", flush=True)
        return 0
    finally:
        if lab is not None:
            lab.stop()
        manager.down(home, log=lambda *_: None, keep=found if keep is None else keep)


def _sign_in(home: LakeHome) -> str:
    """The demo user signed in at the lake's provider, for the storage that serves only holders of its
    tokens; said in a line, and when it fails, why (the anonymous copies still serve the demo)."""
    from datetime import datetime

    from ..core.errors import OdlakeError
    from .signin import sign_in_demo_user

    try:
        signed_in = sign_in_demo_user(home)
    except (LakeError, OdlakeError) as e:
        return f"Signing the demo user in failed ({e}); the anonymous copies serve the demo, and odlake login demo tries again."
    until = datetime.fromtimestamp(signed_in.expires_at).strftime("%H:%M")
    return (
        f"Signed in as {signed_in.subject} (the lake's demo user); storage token until {until}, renewed by JupyterLab."
    )


def _running(home: LakeHome) -> set[str]:
    _state, alive = manager.status(home)
    return {name for name, up in alive.items() if up}


def _which_lake(home: LakeHome, servers: list[str], keep: set[str]) -> str:
    if not keep:
        return f"started here, in {home.root}"
    if keep.issuperset(servers):
        return f"already running at {home.root}; it keeps running when the demo stops"
    again = ", ".join(name for name in servers if name not in keep)
    return f"already running at {home.root}, its {again} started here again (they stop with the demo)"


def _what_stops(servers: list[str], keep: set[str] | None) -> str:
    if not keep:
        return "JupyterLab and the lake"
    if keep.issuperset(servers):
        return "JupyterLab (the lake keeps running)"
    return "JupyterLab and the lake's servers started here"
