"""Rucio protocol for the lake's plain-HTTP storage element.

Rucio's stock ``webdav`` protocol assumes https and an X.509 proxy; this one reads
over plain http with Range support. It must be importable by the Rucio server too,
or ``list_replicas`` leaves the HTTP replicas out.
"""

from typing import NoReturn

import requests
from rucio.common import exception
from rucio.rse.protocols import protocol


class HTTP(protocol.RSEProtocol):  # type: ignore[misc]  # rucio-clients has no type information
    """Read-only access to files served over http(s)."""

    def connect(self) -> None:
        self.session = requests.Session()

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
            r = self._session().head(path, timeout=30, allow_redirects=True)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e
        return r.status_code == 200

    def stat(self, path: str) -> dict[str, int]:
        try:
            r = self._session().head(path, timeout=30, allow_redirects=True)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e
        if r.status_code == 404:
            raise exception.SourceNotFound(path)
        r.raise_for_status()
        return {"filesize": int(r.headers["Content-Length"])}

    def get(self, path: str, dest: str, transfer_timeout: float | None = None) -> None:
        try:
            with self._session().get(path, stream=True, timeout=transfer_timeout or 300) as r:
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
        raise exception.RSEOperationNotSupported("the lake's HTTP storage is read-only")

    def delete(self, path: str) -> NoReturn:
        raise exception.RSEOperationNotSupported("the lake's HTTP storage is read-only")

    def rename(self, path: str, new_path: str) -> NoReturn:
        raise exception.RSEOperationNotSupported("the lake's HTTP storage is read-only")
