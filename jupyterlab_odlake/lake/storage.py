"""The lake's HTTP storage element: files of a directory, read-only, with byte ranges.

Tornado's StaticFileHandler answers GET and HEAD with Range support (206), keeps requests
inside the directory, and costs less per range request than a WebDAV server: uproot sends
one request per basket when it streams a file.

    python -m jupyterlab_odlake.lake.storage --root DIR --port PORT [--address ADDR] [--access-log FILE]
"""

import argparse
import asyncio
import logging
import os

import tornado.web


class FileHandler(tornado.web.StaticFileHandler):
    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        # size and mtime identify a replica well enough; hashing hundreds of MB per request does not pay
        stat = os.stat(abspath)
        return f"{stat.st_size:x}-{int(stat.st_mtime):x}"

    def compute_etag(self) -> str | None:
        path = getattr(self, "absolute_path", None)
        return f'"{self.get_content_version(path)}"' if path else None


class Ping(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("odlake storage\n")


def app(root: str) -> tornado.web.Application:
    return tornado.web.Application([(r"/", Ping), (r"/(.+)", FileHandler, {"path": root})])


async def serve(root: str, port: int, address: str = "127.0.0.1") -> None:
    server = app(root).listen(port, address)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", default="127.0.0.1", help="where to listen (default: loopback only)")
    parser.add_argument("--access-log", help="a file to log each request to (tornado's access log)")
    args = parser.parse_args()
    if args.access_log:
        handler = logging.FileHandler(args.access_log)
        logging.getLogger("tornado.access").addHandler(handler)
        logging.getLogger("tornado.access").setLevel(logging.INFO)
    asyncio.run(serve(os.path.abspath(args.root), args.port, args.address))


if __name__ == "__main__":
    main()
