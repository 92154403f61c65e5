"""Rucio protocol for the lake's plain-HTTP storage element.

Rucio's stock ``webdav`` protocol assumes https and an X.509 proxy; this one reads
over plain http with Range support. It must be importable by the Rucio server too,
or ``list_replicas`` leaves the HTTP replicas out.
"""

import requests
from rucio.common import exception
from rucio.rse.protocols import protocol


class HTTP(protocol.RSEProtocol):
    """Read-only access to files served over http(s)."""

    def connect(self):
        self.session = requests.Session()

    def close(self):
        session = getattr(self, "session", None)
        if session is not None:
            session.close()

    def _session(self):
        if getattr(self, "session", None) is None:
            self.connect()
        return self.session

    def exists(self, path):
        try:
            r = self._session().head(path, timeout=30, allow_redirects=True)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e
        return r.status_code == 200

    def stat(self, path):
        try:
            r = self._session().head(path, timeout=30, allow_redirects=True)
        except requests.RequestException as e:
            raise exception.ServiceUnavailable(e) from e
        if r.status_code == 404:
            raise exception.SourceNotFound(path)
        r.raise_for_status()
        return {"filesize": int(r.headers["Content-Length"])}

    def get(self, path, dest, transfer_timeout=None):
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

    def put(self, source, target, source_dir=None, transfer_timeout=None):
        raise exception.RSEOperationNotSupported("the lake's HTTP storage is read-only")

    def delete(self, path):
        raise exception.RSEOperationNotSupported("the lake's HTTP storage is read-only")

    def rename(self, path, new_path):
        raise exception.RSEOperationNotSupported("the lake's HTTP storage is read-only")
