"""Every REST route of the server extension, joined to the server's base_url in one table."""

from typing import Any

from jupyter_server.utils import url_path_join
from tornado.web import Application

from . import handlers as h

# a path pattern under /odlake/, its handler, and the arguments of the handler's initialize
Route = tuple[str, type[h.OdlakeHandler]] | tuple[str, type[h.OdlakeHandler], dict[str, Any]]

_DID = r"dids/(?P<scope>[^/]+)/(?P<name>.+?)"

ROUTES: list[Route] = [
    (r"info", h.InfoHandler),
    (r"instances", h.InstancesHandler),
    (r"search", h.SearchHandler),
    (r"catalog", h.CatalogHandler),
    (_DID + r"/files", h.FilesHandler),
    (_DID + r"/replicas", h.ReplicasHandler),
    (_DID + r"/attach", h.AttachHandler),
    (_DID + r"/verify", h.VerifyHandler),
    (_DID, h.DIDHandler),
    (r"downloads", h.DownloadsHandler),
    (r"downloads/(?P<transfer_id>[^/]+)", h.TransferHandler, {"kind": "download"}),
    (r"uploads", h.UploadsHandler),
    (r"uploads/(?P<transfer_id>[^/]+)", h.TransferHandler, {"kind": "upload"}),
    (r"rules", h.RulesHandler),
    (r"rules/(?P<rule_id>[0-9a-fA-F-]+)", h.RuleHandler),
]
# after the table: whatever else is asked under /odlake/ gets the JSON error shape
FALLBACK: Route = (r"(?P<rest>.*)", h.NoRouteHandler)


def setup_route_handlers(web_app: Application) -> None:
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, "odlake", route[0]) + "$", *route[1:]) for route in [*ROUTES, FALLBACK]]
    web_app.add_handlers(".*$", handlers)
