"""The client SDK a field tablet embeds: a local store, an outbox, and a sync client over requests.

``FieldClient`` is the entry point; every error it raises is a ``SyncClientError``. This package
imports ``sync/`` and requests, never ``server/``.
"""
from .client import FieldClient
from .errors import (AuthExpired, AuthRequired, Forbidden, InvalidInput, NotFound, ResyncRequired,
                     ServerUnavailable, StoreLocked, SyncClientError)
from .syncer import SyncReport
from .transport import Transport

__all__ = ["FieldClient", "Transport", "SyncReport", "SyncClientError", "InvalidInput", "NotFound",
           "AuthRequired", "AuthExpired", "Forbidden", "ResyncRequired", "ServerUnavailable", "StoreLocked"]
