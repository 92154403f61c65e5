# JupyterHub for odlake with OpenID Connect: users log in at the site's identity provider (INDIGO IAM,
# Keycloak, the demo lake's), and each user's server reads the lake with that user's own tokens, which
# the hub keeps (encrypted auth state) and renews by their refresh token.
#
#   JUPYTERHUB_CRYPT_KEY=$(openssl rand -hex 32) jupyterhub -f deploy/jupyterhub/jupyterhub_oidc_config.py
#
# Everything else is jupyterhub_config.py's (read first: where users reach the hub, the spawner as
# each user's Unix user, the shared venv, the admin service), with its environment. Added here:
#
#   ODLAKE_HUB_OIDC_ISSUER        the provider's issuer; its /.well-known/openid-configuration is read
#   ODLAKE_HUB_OIDC_CLIENT_ID     the hub's client there (default odlake-hub, the demo lake's)
#   ODLAKE_HUB_OIDC_CLIENT_SECRET_FILE  a file holding its secret (root's, 0600; the demo lake's is
#                                 <lake home>/oidc/hub_client_secret)
#   ODLAKE_HUB_OIDC_NAME          the provider's name on the hub's login button
#   ODLAKE_HUB_OIDC_SCOPE         default "openid profile offline_access storage.read:/"
#   ODLAKE_HUB_OIDC_STORAGE_AUDIENCE  the audience of the storage token the hub asks for besides the
#                                 login's token (default the WLCG "any" audience; empty: none, the
#                                 login's token serves Rucio and storage alike)
#   ODLAKE_HUB_OIDC_STORAGE_SCOPE the storage token's scope (default storage.read:/)
#   ODLAKE_HUB_OIDC_AUDIENCE_PARAMETER  how a token's audience is asked for: resource (RFC 8707;
#                                 the demo lake, Keycloak) or audience (IAM); default resource
#   ODLAKE_HUB_OIDC_RUCIO_AUDIENCE  the login's audience, asked for when set (e.g. rucio on IAM)
#   ODLAKE_HUB_OIDC_USERNAME_CLAIM  the ID token's claim that names the user (default preferred_username);
#                                 the name must be a Unix user of the machine, as with PAM
#   ODLAKE_HUB_URL                the hub's address as browsers see it (default http://IP:PORT)
#   ODLAKE_HUB_AUTH_REFRESH_AGE   seconds after which the hub checks a user's tokens again when their
#                                 server asks (default 300; tokens are renewed in their last third)
#   ODLAKE_CA_CERT, ODLAKE_CA_CERTDIR  the CA of the provider and the lake's storage (a PEM file, and
#                                 the same as a hashed folder): the hub trusts the provider through
#                                 it alone, and each user's server gets both for the storage
#   JUPYTERHUB_CRYPT_KEY          the key of the auth state, where the tokens are kept (required)
#
# and each user's server gets odlake_oidc.json in place of odlake.json (installed system-wide as
# /etc/jupyter/jupyter_server_config.d/odlake.json): its instance has "auth_type": "oidc",
# "token_source": "hub", and reads its tokens from the hub's API with its own server token.

import json
import os
import ssl
import urllib.request
from pathlib import Path

from jupyterlab_odlake.hub import refresh_before_expiry, storage_token_hook

c = get_config()  # noqa: F821 - JupyterHub defines it
load_subconfig(str(Path(__file__).with_name("jupyterhub_config.py")))  # noqa: F821 - what both recipes share

if not os.environ.get("JUPYTERHUB_CRYPT_KEY"):
    raise SystemExit("the OIDC hub keeps its users' tokens encrypted: set JUPYTERHUB_CRYPT_KEY (openssl rand -hex 32)")
issuer = os.environ["ODLAKE_HUB_OIDC_ISSUER"].rstrip("/")
ca = os.environ.get("ODLAKE_CA_CERT") or None  # None: the system's CAs (a provider with a public certificate)
tls = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", context=tls, timeout=30) as answer:
    discovery = json.load(answer)
secret_file = os.environ.get("ODLAKE_HUB_OIDC_CLIENT_SECRET_FILE")
hub_url = os.environ.get("ODLAKE_HUB_URL") or f"http://{c.JupyterHub.ip}:{c.JupyterHub.port}"
audience_parameter = os.environ.get("ODLAKE_HUB_OIDC_AUDIENCE_PARAMETER", "resource")
storage_audience = os.environ.get("ODLAKE_HUB_OIDC_STORAGE_AUDIENCE", "https://wlcg.cern.ch/jwt/v1/any")

# -- who may log in: the provider's users, by the OIDC authorization code grant ---------------------
c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.login_service = os.environ.get("ODLAKE_HUB_OIDC_NAME", "the lake's identity provider")
c.GenericOAuthenticator.client_id = os.environ.get("ODLAKE_HUB_OIDC_CLIENT_ID", "odlake-hub")
c.GenericOAuthenticator.client_secret = Path(secret_file).read_text().strip() if secret_file else ""
c.GenericOAuthenticator.oauth_callback_url = f"{hub_url.rstrip('/')}/hub/oauth_callback"
c.GenericOAuthenticator.authorize_url = discovery["authorization_endpoint"]
c.GenericOAuthenticator.token_url = discovery["token_endpoint"]
c.GenericOAuthenticator.basic_auth = True  # client_secret_basic, every provider's default
c.GenericOAuthenticator.enable_pkce = True
c.GenericOAuthenticator.scope = os.environ.get(
    "ODLAKE_HUB_OIDC_SCOPE", "openid profile offline_access storage.read:/"
).split()
# OpenID Connect gives a refresh token for offline_access only to a login that asked for consent
c.GenericOAuthenticator.extra_authorize_params = {"prompt": "consent"}
if os.environ.get("ODLAKE_HUB_OIDC_RUCIO_AUDIENCE"):  # the login's token is for Rucio
    rucio_audience = {audience_parameter: os.environ["ODLAKE_HUB_OIDC_RUCIO_AUDIENCE"]}
    c.GenericOAuthenticator.extra_authorize_params |= rucio_audience
    c.GenericOAuthenticator.token_params = rucio_audience
# the access token is for Rucio, not for the provider's userinfo: who logged in is read from the ID token
c.GenericOAuthenticator.userdata_from_id_token = True
c.GenericOAuthenticator.username_claim = os.environ.get("ODLAKE_HUB_OIDC_USERNAME_CLAIM", "preferred_username")
if ca:
    c.GenericOAuthenticator.http_request_kwargs = {"ca_certs": ca}

# -- the tokens: kept encrypted, renewed before they end, a storage token besides -------------------
c.GenericOAuthenticator.enable_auth_state = True
c.GenericOAuthenticator.refresh_pre_spawn = True
c.GenericOAuthenticator.auth_refresh_age = int(os.environ.get("ODLAKE_HUB_AUTH_REFRESH_AGE", "300"))
c.GenericOAuthenticator.modify_auth_state_hook = storage_token_hook(
    storage_audience or None,
    scope=os.environ.get("ODLAKE_HUB_OIDC_STORAGE_SCOPE", "storage.read:/"),
    audience_parameter=audience_parameter,
)
c.GenericOAuthenticator.refresh_user_hook = refresh_before_expiry

# -- each user's server reads its own user's tokens from the hub, never anyone else's ---------------
shared_roles = c.JupyterHub.load_roles if "load_roles" in c.JupyterHub else []
c.JupyterHub.load_roles = [*shared_roles, {"name": "user", "scopes": ["self", "admin:auth_state!user"]}]
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "read:users:name!user",
    "admin:auth_state!user",
]
c.Spawner.environment.update(
    ODLAKE_CA_CERT=ca or "",
    ODLAKE_CA_CERTDIR=os.environ.get("ODLAKE_CA_CERTDIR", ""),
)
