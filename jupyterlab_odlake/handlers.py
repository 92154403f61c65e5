"""Thin tornado handlers over the Jupyter-free core."""

import json

import tornado
from jupyter_server.base.handlers import APIHandler

from . import __version__


class OdlakeHandler(APIHandler):
    """Base of every odlake route: errors leave as ``{"error": code, "message": text}``."""

    def write_error(self, status_code, **kwargs):
        reason = self._reason or "error"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": reason.lower().replace(" ", "_"), "message": reason}))


class InfoHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self):
        self.finish(json.dumps({"version": __version__}))
