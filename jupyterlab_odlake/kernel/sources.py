"""The uproot source odlake hands root:// files to.

uproot (5.7.7) reads a basket's key at the offset it finds in the file's index, a NumPy
integer (``TBranch.basket_key``, on the path of ``step_size`` given in bytes, e.g.
``uproot.dask(..., step_size="50 MB")``); fsspec-xrootd passes it on to the XRootD bindings,
which accept only Python integers ("integer argument expected for offset"). This source is
uproot's own fsspec source with the offsets made plain integers. It lives at module level
so that dask can send it to its workers.
"""

from __future__ import annotations

from typing import SupportsInt

from uproot.source.chunk import Chunk
from uproot.source.fsspec import FSSpecSource


class XRootDFriendlySource(FSSpecSource):  # type: ignore[misc]  # uproot has no type information
    def chunk(self, start: SupportsInt, stop: SupportsInt) -> Chunk:
        return super().chunk(int(start), int(stop))
