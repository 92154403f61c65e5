"""Every REST route of the server extension, joined to the server's base_url in one table."""

from jupyter_server.utils import url_path_join

from .handlers import InfoHandler

ROUTES = [
    (r"info", InfoHandler),
]


def setup_route_handlers(web_app):
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, "odlake", pattern), handler) for pattern, handler in ROUTES]
    web_app.add_handlers(".*$", handlers)
