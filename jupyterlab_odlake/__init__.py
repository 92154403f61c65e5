"""odlake: a Rucio data lake inside JupyterLab.

In a notebook::

    %load_ext jupyterlab_odlake
    %odlake attach opendata:GamGam.Data as data

or in Python::

    import jupyterlab_odlake as odlake
    data = odlake.attach("opendata:GamGam.Data", mode="stream")
    photons = data.arrays("mini", ["photon_pt", "photon_eta"])

The package is in five parts: ``core`` (Rucio, replicas, cache; no Jupyter), ``server``
(the jupyter_server extension), ``kernel`` (the IPython extension and this API), ``lake``
(the demo lake) and ``cli`` (the ``odlake`` command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell
    from jupyter_server.serverapp import ServerApp

try:
    from ._version import __version__ as __version__
except ImportError:  # running from a source tree that was never built
    import warnings

    warnings.warn("Importing 'jupyterlab_odlake' outside a proper installation.", stacklevel=2)
    __version__ = "dev"


_API = {
    "attach": "kernel.api",
    "search": "kernel.api",
    "ls": "kernel.api",
    "downloads": "kernel.api",
    "upload": "kernel.api",
    "replicate": "kernel.api",
    "rules": "kernel.api",
    "verify": "kernel.api",
    "AttachedDID": "kernel.attached",
    "AttachedFile": "kernel.attached",
    "OdlakeError": "core.errors",
    "InvalidRequest": "core.errors",
    "NotFound": "core.errors",
    "AuthenticationFailed": "core.errors",
    "Unreachable": "core.errors",
    "StorageError": "core.errors",
    "ChecksumMismatch": "core.errors",
}


def __getattr__(name: str) -> Any:
    # the notebook API is imported on first use, so loading the server extension stays light
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'jupyterlab_odlake' has no attribute {name!r}")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext jupyterlab_odlake``: registers the ``%odlake`` magic."""
    from .kernel.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-odlake"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyterlab_odlake"}]


def _load_jupyter_server_extension(server_app: ServerApp) -> None:
    """Register the odlake REST routes on the running Jupyter server."""
    from .server.extension import load

    load(server_app)


def _unload_jupyter_server_extension(server_app: ServerApp) -> None:
    """Stop odlake's downloads and threads with the server."""
    from .server.extension import unload

    unload(server_app)
