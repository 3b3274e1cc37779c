"""Bearer tokens for workers on named devices: issue, check, expire, revoke."""
import datetime as dt
import functools
import hashlib
import secrets

from flask import current_app, g, request
from sqlalchemy import select
from werkzeug.security import check_password_hash

from .errors import ApiError
from .extensions import db
from .models import Device, Token, Worker
from .models.types import utcnow
from .scope import scope_for


def _hash(raw):
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def authenticate(username, password):
    worker = db.session.execute(select(Worker).where(Worker.username == username)).scalar_one_or_none()
    # Compare against a hash even for an unknown name, so timing does not reveal which names exist.
    stored = worker.password_hash if worker else _DUMMY_HASH
    ok = check_password_hash(stored, password)
    if not stored.startswith(current_app.config["PASSWORD_HASH_METHOD"].split(":")[0] + ":"):
        # An imported account's one-time password has a cheaper hash (server/services/account_import.py):
        # spend a check at full cost anyway, so a quick answer does not tell which names exist.
        check_password_hash(_DUMMY_HASH, password)
    if not ok or worker is None or not worker.active:
        raise ApiError(401, "bad_credentials", "wrong username or password")
    return worker


_DUMMY_HASH = "scrypt:32768:8:1$dummysaltdummys$" + "0" * 128


#: device ids the server itself uses as the author of its own changes (and its clock nodes)
RESERVED_DEVICE_IDS = frozenset({"server", "scheduler", "web"})


def enroll_device(worker, device_id, name):
    if device_id in RESERVED_DEVICE_IDS or device_id.startswith("server-"):
        raise ApiError(422, "invalid_input", f"device_id {device_id!r} is reserved: the server uses it for its "
                       "own changes", {"device_id": ["reserved"]})
    device = db.session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, worker_id=worker.id, name=name)
        db.session.add(device)
    else:
        if device.revoked_at is not None:
            raise ApiError(403, "device_revoked", "this device has been revoked; ask an administrator")
        if device.worker_id != worker.id:
            # A shared tablet handed to someone else: what it holds is not theirs to build on,
            # and the previous worker's tokens on it stop working.
            for token in db.session.execute(select(Token).where(
                    Token.device_id == device.id, Token.revoked_at.is_(None))).scalars():
                token.revoked_at = utcnow()
            device.worker_id = worker.id
            device.resync_required = True
        device.name = name or device.name
    return device


def issue_token(worker, device, ttl_hours):
    raw = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=ttl_hours)
    db.session.add(Token(token_hash=_hash(raw), worker_id=worker.id, device_id=device.id, expires_at=expires))
    return raw, expires


def revoke(token):
    token.revoked_at = utcnow()


def current_token():
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        raise ApiError(401, "auth_required", "send a bearer token: Authorization: Bearer <token>")
    token = db.session.execute(select(Token).where(Token.token_hash == _hash(header[7:].strip()))).scalar_one_or_none()
    if token is None:
        raise ApiError(401, "bad_token", "unknown token; log in again")
    if token.revoked_at is not None:
        raise ApiError(401, "token_revoked", "this token was revoked; log in again")
    if token.expires_at <= utcnow():
        raise ApiError(401, "token_expired", "this token has expired; log in again")
    return token


def login_required(view):
    """Every API view but the token endpoint goes through here: it sets g.worker, g.device
    and g.scope, the one scope object every query and write is checked against."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = current_token()
        worker = db.session.get(Worker, token.worker_id)
        if worker is None or not worker.active:
            raise ApiError(401, "account_disabled", "this account is disabled")
        g.token, g.worker = token, worker
        g.device = db.session.get(Device, token.device_id) if token.device_id else None
        if g.device is not None and g.device.revoked_at is not None:
            raise ApiError(401, "device_revoked", "this device has been revoked")
        if g.device is not None and g.device.worker_id != worker.id:
            raise ApiError(401, "token_revoked", "this device now belongs to another worker; log in again")
        g.scope = scope_for(worker)
        return view(*args, **kwargs)

    return wrapper
