# JupyterHub for odlake: every user gets their own JupyterLab, as their own Unix user, with
# the Open Data Lake panel reading the lake with their own Rucio identity.
#
#   jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
#
# The settings a site changes are read from the environment, so that this file is used as it
# is (the tests start the hub with it too):
#
#   ODLAKE_HUB_VENV             the venv holding jupyterhub-singleuser, JupyterLab and odlake,
#                               readable by every user (default: the one running the hub)
#   ODLAKE_HUB_IP, ODLAKE_HUB_PORT   where users reach the hub (default 127.0.0.1:8000)
#   ODLAKE_HUB_PROXY            the configurable-http-proxy command (default: found on PATH)
#   ODLAKE_HUB_SHARED_PASSWORD  for a demo or a test only: log in with any allowed name and this
#                               password (DummyAuthenticator); unset, users log in with their
#                               Unix password (PAM), or see jupyterhub_oidc_config.py
#   ODLAKE_HUB_USERS            allowed user names, comma-separated (default: any PAM user)
#   ODLAKE_HUB_JUPYTER_CONFIG_PATH  an extra Jupyter config directory for every user's server
#                               (the tests use it in place of /etc/jupyter)
#   ODLAKE_HUB_SERVICE_TOKEN    an API token for a monitoring or test service with admin rights
#   ODLAKE_RUCIO_HOST           the site's Rucio server, handed to every user's server (odlake.json
#                               names it as $ODLAKE_RUCIO_HOST)
#
# What gives each user's server its Rucio instance is not here: it is the system-wide Jupyter
# server config odlake.json, installed in /etc/jupyter/jupyter_server_config.d/ (see README.md).

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - JupyterHub defines it

venv = Path(os.environ.get("ODLAKE_HUB_VENV", sys.prefix))

# -- where users reach the hub -------------------------------------------------------------
c.JupyterHub.ip = os.environ.get("ODLAKE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("ODLAKE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"  # the hub's own API: this machine only
if os.environ.get("ODLAKE_HUB_HUB_PORT"):
    c.JupyterHub.hub_port = int(os.environ["ODLAKE_HUB_HUB_PORT"])
if os.environ.get("ODLAKE_HUB_PROXY_API_PORT"):
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['ODLAKE_HUB_PROXY_API_PORT']}"
proxy = os.environ.get("ODLAKE_HUB_PROXY") or shutil.which("configurable-http-proxy")
if proxy:
    c.ConfigurableHTTPProxy.command = [proxy]

# -- who may log in ------------------------------------------------------------------------
if os.environ.get("ODLAKE_HUB_SHARED_PASSWORD"):  # demo and tests: no outside service needed
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = os.environ["ODLAKE_HUB_SHARED_PASSWORD"]
else:
    c.JupyterHub.authenticator_class = "pam"  # the machine's users, with their Unix passwords
if os.environ.get("ODLAKE_HUB_USERS"):
    c.Authenticator.allowed_users = set(os.environ["ODLAKE_HUB_USERS"].split(","))
else:
    c.Authenticator.allow_all = True
# OIDC (the usual way at a grid site, where Rucio trusts the same identity provider): run the hub with
# jupyterhub_oidc_config.py, which reads this file and logs users in at the provider instead.

# -- each user's server: their own Unix user, from the shared venv -------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(venv / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {"ODLAKE_RUCIO_HOST": os.environ.get("ODLAKE_RUCIO_HOST", "")}
if os.environ.get("ODLAKE_HUB_JUPYTER_CONFIG_PATH"):
    c.Spawner.environment["JUPYTER_CONFIG_PATH"] = os.environ["ODLAKE_HUB_JUPYTER_CONFIG_PATH"]

# -- a service with admin rights (monitoring, the tests) ---------------------------------
if os.environ.get("ODLAKE_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "odlake-admin", "api_token": os.environ["ODLAKE_HUB_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [
        {
            "name": "odlake-admin",
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
            "services": ["odlake-admin"],
        }
    ]
