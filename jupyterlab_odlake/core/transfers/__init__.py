"""Bytes on the move: transfer jobs of both directions (one registry), downloads into the verified cache,
the cache itself and its file locks."""
