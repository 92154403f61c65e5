"""``odlake ipython install``: load the odlake magic in every IPython and kernel of the user's profile.

It writes one startup file into the IPython profile (no config file is edited); the
file does nothing in an environment where odlake is not installed.
"""

from __future__ import annotations

from pathlib import Path

STARTUP_NAME = "50-odlake.py"
STARTUP_CODE = """\
# Written by `odlake ipython install`; `odlake ipython uninstall` removes it.
import importlib.util

if importlib.util.find_spec("jupyterlab_odlake") is not None:  # else odlake is not in this environment
    # a broken install fails loudly here, with its traceback, rather than losing %odlake in silence
    get_ipython().extension_manager.load_extension("jupyterlab_odlake")  # noqa: F821
"""


def startup_file(profile: str = "default") -> Path:
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir()) / f"profile_{profile}" / "startup" / STARTUP_NAME


def install(profile: str = "default") -> Path:
    path = startup_file(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTUP_CODE)
    return path


def uninstall(profile: str = "default") -> Path | None:
    path = startup_file(profile)
    if path.exists():
        path.unlink()
        return path
    return None
