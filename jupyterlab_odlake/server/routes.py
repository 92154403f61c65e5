"""Every REST route of the server extension, joined to the server's base_url in one table."""

from jupyter_server.utils import url_path_join

from . import handlers as h

_DID = r"dids/(?P<scope>[^/]+)/(?P<name>.+?)"

ROUTES = [
    (r"info", h.InfoHandler),
    (r"instances", h.InstancesHandler),
    (r"search", h.SearchHandler),
    (r"catalog", h.CatalogHandler),
    (_DID + r"/files", h.FilesHandler),
    (_DID + r"/replicas", h.ReplicasHandler),
    (_DID, h.DIDHandler),
    (r"downloads", h.DownloadsHandler),
    (r"downloads/(?P<download_id>[^/]+)", h.DownloadHandler),
    (r"uploads", h.UploadsHandler),
    (r"uploads/(?P<upload_id>[^/]+)", h.UploadHandler),
    (r"rules", h.RulesHandler),
    (r"rules/(?P<rule_id>[0-9a-fA-F-]+)", h.RuleHandler),
]
# after the table: whatever else is asked under /odlake/ gets the JSON error shape
FALLBACK = (r"(?P<rest>.*)", h.NoRouteHandler)


def setup_route_handlers(web_app):
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, "odlake", pattern) + "$", handler) for pattern, handler in [*ROUTES, FALLBACK]]
    web_app.add_handlers(".*$", handlers)
