"""The server extension's configuration (traitlets), and its load and unload.

In ``jupyter_server_config.py``::

    c.Odlake.instances = [
        {"name": "institute", "display_name": "Institute lake", "rucio_host": "https://rucio.example.org",
         "auth_type": "x509_proxy", "proxy": "/tmp/x509up_u1000", "account": "alice",
         "mounts": {"INSTITUTE_DISK": "/eos/lake"}, "default_mode": "auto"},
    ]
    c.Odlake.default_instance = "institute"
    c.Odlake.cache_dir = "/scratch/odlake-cache"
    c.Odlake.parallel_transfers = 4

With no instances configured, odlake uses the demo lake when its lake.json is found,
else the environment's rucio.cfg.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from traitlets import Dict, Int, List, Unicode
from traitlets.config import Config, Configurable

from ..core import InstanceConfig, LakeService
from ..core.rucio.locations import STREAM_SCHEMES
from . import spec
from .routes import setup_route_handlers

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

SERVICE = "odlake_service"
EXECUTOR = "odlake_executor"


class Odlake(Configurable):
    instances = List(
        Dict(),
        help="Rucio instances: name, display_name, rucio_host, auth_host, auth_type (userpass, x509, x509_proxy, "
        "oidc), account, vo, username with password_file or password_env (or password, which then appears in "
        "the server's debug log of its configuration), certificate/key, proxy, token_file/token_env, oidc (where "
        "odlake login signs in: issuer, client_id, rucio_audience, storage_audience, storage_scope, "
        "audience_parameter), token_source (hub: the tokens of the JupyterHub that started the server), "
        "storage_token_file, ca_cert, ca_certdir, scopes, "
        "mounts (RSE -> local prefix), default_mode (stream, download, mounted, auto), schemes (stream schemes, "
        "preferred first).",
    ).tag(config=True)
    default_instance = Unicode("", help="Name of the instance used when a request names none.").tag(config=True)
    cache_dir = Unicode("", help="Directory of the download cache (default: the user cache directory).").tag(
        config=True
    )
    parallel_transfers = Int(4, help="Files downloaded at the same time.").tag(config=True)
    state_dir = Unicode("", help="Directory for Rucio tokens (default: the user state directory).").tag(config=True)
    request_threads = Int(8, help="Threads that run Rucio calls off the event loop.").tag(config=True)
    stream_schemes = List(
        Unicode(),
        default_value=list(STREAM_SCHEMES),
        help="Stream schemes, preferred first, for instances that set no 'schemes' of their own "
        "(root, https, davs, http; default: root first, as a grid site reads).",
    ).tag(config=True)

    def make_service(self, root_dir: str | None = None) -> LakeService:
        """The service of this server; ``root_dir``: the Jupyter root, the only place uploads come from."""
        configs = [InstanceConfig.from_dict(dict(i)) for i in self.instances] if self.instances else None
        return LakeService(
            configs,
            default=self.default_instance or None,
            cache_dir=self.cache_dir or None,
            parallel_transfers=self.parallel_transfers,
            state_dir=self.state_dir or None,
            stream_schemes=self.stream_schemes,
            upload_root=root_dir,
        )

    def make_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.request_threads, thread_name_prefix="odlake-rucio")


def drop_in_config(config_paths: Iterable[str]) -> Config:
    """The ``Odlake`` sections of the drop-in files ``jupyter_server_config.d/*.json`` on Jupyter's
    config path, merged as Jupyter's own files are (a user's over the system's).

    Jupyter itself takes only ``jpserver_extensions`` from those directories; a site's system-wide
    odlake configuration (e.g. /etc/jupyter/jupyter_server_config.d/odlake.json, one file for every
    user of a hub) is read here.
    """
    from jupyter_server.config_manager import BaseJSONConfigManager, recursive_update

    merged: dict[str, Any] = {}
    for directory in reversed(list(config_paths)):  # the path lists the most specific first
        section = BaseJSONConfigManager(config_dir=directory, read_directory=True).get(
            "jupyter_server_config", include_root=False
        )
        recursive_update(merged, section.get("Odlake") or {})
    return Config({"Odlake": merged}) if merged else Config()


def configured() -> Odlake:
    """odlake's configuration as a Jupyter server of this user would read it (its config files, then the
    drop-in files), for a command run outside the server (``odlake login``): both then use the same
    instances and the same state directory."""
    from jupyter_server.serverapp import ServerApp

    app = ServerApp()
    app.load_config_file()
    config = drop_in_config(app.config_file_paths)
    config.merge(app.config)
    return Odlake(config=config)


def load(server_app: ServerApp) -> None:
    """Register the odlake REST routes on the running Jupyter server."""
    config = drop_in_config(server_app.config_file_paths)
    config.merge(server_app.config)  # what the server's own config files and command line say wins
    odlake = Odlake(config=config, parent=server_app)
    service = odlake.make_service(server_app.root_dir)
    settings = server_app.web_app.settings
    settings[SERVICE] = service
    settings[EXECUTOR] = odlake.make_executor()
    settings[EXECUTOR].submit(spec.warm)  # a user's first attach does not wait for it
    setup_route_handlers(server_app.web_app)
    for name, value in service.kernel_environment().items():  # the kernels this server starts inherit it
        os.environ.setdefault(name, value)
    names = ", ".join(service.names) or "none found"
    server_app.log.info(f"odlake server extension loaded; Rucio instances: {names}")


def unload(server_app: ServerApp) -> None:
    """Cancel running downloads and stop odlake's threads when the server stops."""
    settings = server_app.web_app.settings
    service = settings.pop(SERVICE, None)
    if service is not None:
        service.close()
    executor = settings.pop(EXECUTOR, None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
