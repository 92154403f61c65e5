"""odlake: a Rucio data lake inside JupyterLab.

In a notebook::

    %load_ext jupyterlab_odlake
    %odlake attach opendata:GamGam.Data as data

or in Python::

    import jupyterlab_odlake as odlake
    data = odlake.attach("opendata:GamGam.Data", mode="stream")
    photons = data.arrays("mini", ["photon_pt", "photon_eta"])

The package also holds the server extension (``handlers``, ``routes``), the Jupyter-free
``core``, the demo lake (``lake``) and the ``odlake`` command line.
"""

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    import warnings

    warnings.warn("Importing 'jupyterlab_odlake' outside a proper installation.")
    __version__ = "dev"


_API = {
    "attach": "api", "search": "api", "ls": "api", "downloads": "api",
    "AttachedDID": "attached", "AttachedFile": "attached",
    "OdlakeError": "core.errors", "InvalidRequest": "core.errors", "NotFound": "core.errors",
    "AuthenticationFailed": "core.errors", "Unreachable": "core.errors", "StorageError": "core.errors",
    "ChecksumMismatch": "core.errors",
}  # fmt: skip


def __getattr__(name):
    # the notebook API is imported on first use, so loading the server extension stays light
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'jupyterlab_odlake' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """``%load_ext jupyterlab_odlake``: registers the ``%odlake`` magic."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-odlake"}]


def _jupyter_server_extension_points():
    return [{"module": "jupyterlab_odlake"}]


def _load_jupyter_server_extension(server_app):
    """Register the odlake REST routes on the running Jupyter server."""
    from .extension import Odlake
    from .routes import setup_route_handlers

    config = Odlake(config=server_app.config, parent=server_app)
    lakes = config.make_lakes()
    server_app.web_app.settings["odlake_lakes"] = lakes
    server_app.web_app.settings["odlake_executor"] = config.make_executor()
    setup_route_handlers(server_app.web_app)
    names = ", ".join(lakes.instances) or "none found"
    server_app.log.info(f"odlake server extension loaded; Rucio instances: {names}")
