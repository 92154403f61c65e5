"""Rucio protocol for anonymous, read-only http(s) storage: the lake's public storage (XRootD's https).

Rucio's stock ``webdav`` protocol reads only with an X.509 proxy or an OIDC token, and checks no
certificate (``verify=False``); this one reads anonymously, with Range support, and checks the storage's
certificate against the CA Rucio's own client trusts: ``X509_CERT_DIR``, else ``ca_cert`` in rucio.cfg's
``[client]`` (the lake writes its CA there), else requests' default (``REQUESTS_CA_BUNDLE``, certifi).
It must be importable by the Rucio server too, or ``list_replicas`` leaves the replicas out.
"""

import os
from typing import NoReturn

import requests
from rucio.common import exception
from rucio.rse.protocols import protocol


def trusted_ca() -> str | bool:
    """What ``requests`` checks a storage's certificate with, as Rucio's client finds its CA."""
    found = os.environ.get("X509_CERT_DIR")
    if found:
        return found
    try:
        from rucio.common.config import config_get

        configured = config_get("client", "ca_cert", raise_exception=False, default=None, check_config_table=False)
    except exception.RucioException:  # no rucio.cfg at all (ConfigNotFound): requests' own default
        configured = None
    return os.path.expandvars(os.path.expanduser(configured)) if configured else True


class HTTP(protocol.RSEProtocol):  # type: ignore[misc]  # rucio-clients has no type information
    """Read-only access to files served over http(s)."""

    def connect(self) -> None:
        self.session = requests.Session()
        # per request: requests lets REQUESTS_CA_BUNDLE win over a session's own verify
        self.verify = trusted_ca()

    def close(self) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            session.close()

    def _session(self) -> requests.Session:
        if getattr(self, "session", None) is None:
            self.connect()
        return self.session

    def exists(self, path: str) -> bool:
        try:
            r = self._session().head(path, timeout=30, allow_redirects=True, verify=self.verify)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e
        return r.status_code == 200

    def stat(self, path: str) -> dict[str, int]:
        try:
            r = self._session().head(path, timeout=30, allow_redirects=True, verify=self.verify)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e
        if r.status_code == 404:
            raise exception.SourceNotFound(path)
        r.raise_for_status()
        return {"filesize": int(r.headers["Content-Length"])}

    def get(self, path: str, dest: str, transfer_timeout: float | None = None) -> None:
        try:
            session = self._session()
            with session.get(path, stream=True, timeout=transfer_timeout or 300, verify=self.verify) as r:
                if r.status_code == 404:
                    raise exception.SourceNotFound(path)
                r.raise_for_status()
                with open(dest, "wb") as out:
                    for chunk in r.iter_content(1 << 20):
                        out.write(chunk)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e

    def put(
        self, source: str, target: str, source_dir: str | None = None, transfer_timeout: float | None = None
    ) -> NoReturn:
        raise exception.RSEOperationNotSupported("this storage is read-only")

    def delete(self, path: str) -> NoReturn:
        raise exception.RSEOperationNotSupported("this storage is read-only")

    def rename(self, path: str, new_path: str) -> NoReturn:
        raise exception.RSEOperationNotSupported("this storage is read-only")
