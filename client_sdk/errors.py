"""One exception tree for everything the SDK raises, rooted at ``SyncClientError``.

Like requests' ``RequestException``: an app catches the root to show "something went wrong",
or a leaf to act on it (log in again, fix a field, try later). Transport errors from requests
never escape the SDK unwrapped.
"""


class SyncClientError(Exception):
    """Root. ``code`` is the server's stable reason when there is one; ``status`` its HTTP code."""

    code = "sync_client_error"

    def __init__(self, message, *, code=None, status=None, field=None, errors=None, params=None):
        super().__init__(message)
        self.message = message
        self.params = params or {}
        self.status = status
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})
        if code:
            self.code = code


class InvalidInput(SyncClientError):
    """Bad input: refused locally before anything is written, or a 4xx validation answer.
    ``field`` names the first offending field; ``errors`` maps field names to messages."""

    code = "invalid_input"


class NotFound(InvalidInput):
    """The record named is not on this device (or not in the worker's grids)."""

    code = "not_found"


class AuthRequired(SyncClientError):
    """No token, or the server refused it (401): log in."""

    code = "auth_required"


class AuthExpired(AuthRequired):
    """The stored token has expired: log in again; nothing local was lost."""

    code = "token_expired"


class Forbidden(SyncClientError):
    """403: the worker or device may not do this (wrong role, revoked device, another's data)."""

    code = "forbidden"


class ResyncRequired(SyncClientError):
    """410: the server does not trust the cursor. ``sync()`` handles it by pulling from the
    start; apps only see it if the server keeps answering it."""

    code = "resync_required"


class ServerUnavailable(SyncClientError):
    """Network error, timeout, 5xx or 429 after the retries: nothing was lost, try later."""

    code = "server_unavailable"


class BadResponse(ServerUnavailable):
    """The server's answer could not be used (cut short, not JSON, not the shape the protocol
    says): the request counts as failed and is retried; nothing stored is overwritten by it."""

    code = "bad_response"


class StoreLocked(SyncClientError):
    """The local store's personal fields are encrypted and the passphrase is missing or wrong."""

    code = "store_locked"
