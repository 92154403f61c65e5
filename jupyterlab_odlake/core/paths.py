"""Whether a path stays within a directory: the one check for mounts and for what the server uploads."""

from __future__ import annotations

import os


def inside(root: str, path: str) -> bool:
    """Is the normalised ``path`` within ``root``, also with every symlink followed?"""
    root = os.path.normpath(root)
    if os.path.commonpath([root, path]) != root:  # '..' led out: decided without touching the disk
        return False
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root
