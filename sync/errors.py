"""Domain exceptions shared by the server and the SDK; only server/errors.py maps them to HTTP."""


class SyncError(Exception):
    """Root of the domain errors. ``code`` is a stable machine-readable reason."""

    code = "sync_error"

    def __init__(self, message, *, field=None, code=None, params=None):
        super().__init__(message)
        self.message = message
        self.field = field
        # what a message in another language needs besides the field (sync/messages.py)
        self.params = params or {}
        if code:
            self.code = code

    def as_dict(self):
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class InvalidChange(SyncError):
    """A change that cannot be applied as sent: it is rejected and nothing of it is written."""

    code = "invalid_change"


class BadStamp(InvalidChange):
    code = "bad_stamp"


class OutOfScope(SyncError):
    """The record lies outside the caller's grids or area."""

    code = "out_of_scope"


class Forbidden(SyncError):
    """The caller's role or device may not do this at all (not a matter of where the record lies)."""

    code = "forbidden"


class NotFound(SyncError):
    """No such thing, or none the caller may see: the two answer alike."""

    code = "not_found"


class InvalidInput(SyncError):
    """A request's argument (not a synced change) that cannot be used."""

    code = "invalid_input"


class Conflicting(SyncError):
    """The request was made on a state that is no longer current (e.g. a decision already taken)."""

    code = "conflict"


class ResyncRequired(SyncError):
    """The device's cursor or state cannot be trusted: it must pull from the start again."""

    code = "resync_required"


class UnsupportedSchema(SyncError):
    code = "schema_version_unsupported"
