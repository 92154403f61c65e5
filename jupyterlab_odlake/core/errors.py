"""What can go wrong talking to a lake, as exceptions that carry a user-facing message.

Each error has a stable ``code`` (the REST API answers it, with an HTTP status the server
extension gives each kind); the message says what happened and what to do.
"""


def printable(text: str) -> str:
    """``text`` with control and formatting characters (a NUL, U+202E that reverses what follows) shown as '?'.

    Messages quote what the user typed; the quote must not be able to rearrange or hide the message.
    """
    return "".join(c if c.isprintable() or c == "\n" else "?" for c in text)


def quoted(text: object, limit: int = 60) -> str:
    """What a user typed, as a message may quote it back: printable and short (never the request in bulk)."""
    shown = printable(str(text)).replace("\n", "?")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


MAX_MESSAGE = 500  # characters; a message longer than this is cut


class OdlakeError(Exception):
    """Base of every odlake error. ``str(error)`` is the message for the user."""

    code = "error"

    def __init__(self, message: str):
        message = printable(message)
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 1] + "…"
        super().__init__(message)
        self.message = message


class InvalidRequest(OdlakeError):
    """A malformed DID, parameter or filter."""

    code = "invalid_request"


class AuthenticationFailed(OdlakeError):
    """Rucio rejected the credentials of an instance."""

    code = "authentication_failed"


class AccessDenied(OdlakeError):
    """Rucio knows the account but does not allow the operation."""

    code = "access_denied"


class NotFound(OdlakeError):
    """No such DID, scope, instance or download."""

    code = "not_found"


class StorageError(OdlakeError):
    """A storage element failed or served bad bytes."""

    code = "storage_error"


class ChecksumMismatch(StorageError):
    code = "checksum_mismatch"


class RucioFailed(OdlakeError):
    """Rucio's server answered, with a failure of its own (a 5xx): not the user's fault, not the credential's."""

    code = "rucio_failed"


class CacheUnusable(OdlakeError):
    """The download cache cannot take a file: its disk is full, or it cannot be written."""

    code = "cache_unusable"


class Unreachable(OdlakeError):
    """The Rucio server (or a storage) cannot be reached."""

    code = "unreachable"


class TimedOut(OdlakeError):
    code = "timeout"


class Cancelled(OdlakeError):
    code = "cancelled"


def error_of(code: str | None, message: str) -> OdlakeError:
    """The error a stable ``code`` names (as the REST API and a transfer's record carry it), with ``message``."""
    kinds = [OdlakeError]
    while kinds:
        kind = kinds.pop()
        if kind.code == code:
            return kind(message)
        kinds += kind.__subclasses__()
    return OdlakeError(message)
