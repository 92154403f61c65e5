"""odlake: a Rucio data lake inside JupyterLab.

The package holds the server extension (``handlers``/``routes``), the demo lake
(``lake``) and the ``odlake`` command line.
"""

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    import warnings

    warnings.warn("Importing 'jupyterlab_odlake' outside a proper installation.")
    __version__ = "dev"


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
