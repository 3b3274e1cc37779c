"""One error envelope for every failure: ``{code, status, message, errors?}`` as JSON.

Domain exceptions come from sync/errors.py; this is the only place that gives them HTTP codes.
"""
import logging

from flask import jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from sync.errors import (Conflicting, Forbidden, InvalidChange, InvalidInput, NotFound, OutOfScope, ResyncRequired,
                         SyncError, UnsupportedSchema)

from .i18n import api_message, field_messages

log = logging.getLogger(__name__)

DOMAIN_STATUS = {
    InvalidChange: 422,
    InvalidInput: 422,
    OutOfScope: 404,
    NotFound: 404,
    Forbidden: 403,
    Conflicting: 409,
    ResyncRequired: 410,
    UnsupportedSchema: 426,
}


class ErrorSchema(Schema):
    """The envelope every error answers with, as the OpenAPI document publishes it."""

    code = fields.Str(required=True, metadata={"description": "what went wrong, stable: e.g. invalid_input, "
                                                              "not_found, resync_required"})
    status = fields.Int(required=True, metadata={"description": "the HTTP status, repeated"})
    message = fields.Str(required=True, metadata={"description": "for a person to read, in the language "
                                                                    "Accept-Language asks for (Chinese by default)"})
    detail = fields.Str(metadata={"description": "the developer's English, when the message is in another "
                                                 "language and the detail says more"})
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()),
                         metadata={"description": "the fields at fault (dotted names), each with its messages"})


class ApiError(Exception):
    """Raised by services for a clean 4xx with a stable ``code``."""

    def __init__(self, status, code, message, errors=None):
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


def _flatten(messages, prefix=""):
    """marshmallow's nested messages as {"a.b": ["…"]}, so each names its field in full."""
    out = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                out[name] = value if isinstance(value, list) else [value]
    else:
        out[prefix or "_body"] = messages if isinstance(messages, list) else [messages]
    return out


def envelope(status, code, message, errors=None, *, field=None, params=None):
    """``message`` is the English detail; the reader gets the words for ``code`` in their
    language (server/i18n.py), and the detail too when it says more."""
    said, detail = api_message(code, field, params, message)
    body = {"code": code, "status": status, "message": said}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    return resp


def handle_http(exc):
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if messages:
        # webargs/smorest nest by location ("json", "query"); the field names are what matter.
        flat = {}
        for location, msgs in messages.items():
            flat.update(_flatten(msgs))
        names = ", ".join(sorted(flat))
        return envelope(exc.code, "invalid_input", f"invalid input: {names}",
                        {k: field_messages(v) for k, v in flat.items()}, field=names)
    code = (exc.name or "error").lower().replace(" ", "_")
    message = exc.description or exc.name
    if exc.code == 413:
        message = "request body too large"
    return envelope(exc.code, code, message)


def handle_api_error(exc):
    field = next(iter(exc.errors), None) if isinstance(exc.errors, dict) else None
    return envelope(exc.status, exc.code, exc.message, exc.errors, field=field)


def handle_domain(exc):
    status = next((s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls)), 400)
    # the field's error in the reader's words, like the message
    errors = {exc.field: [api_message(exc.code, exc.field, exc.params, exc.message)[0]]} if exc.field else None
    return envelope(status, exc.code, exc.message, errors, field=exc.field, params=exc.params)


def handle_500(exc):
    original = getattr(exc, "original_exception", None)
    # Logged by type only: the message could quote a request body with personal data.
    log.error("unhandled error: %s", type(original).__name__ if original else "unknown")
    return envelope(500, "internal_error", "the server failed to handle this request; nothing was changed")


def register(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(SyncError, handle_domain)
    app.register_error_handler(InternalServerError, handle_500)
