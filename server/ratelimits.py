"""The log-in limits: one per account and one per client address (docs/security.md §8).

Many tablets reach the server through one carrier address (a district's evening sync comes
from a handful of NAT addresses), so the address limit is wide and only stops a flood; guessing
one worker's password is stopped by the account limit, which counts failed log-ins of that
username from anywhere.
"""
import hashlib

from flask import current_app, request

from .extensions import limiter


def _account_key():
    """The username the request tries, hashed (a key of bounded size, no names in storage)."""
    name = None
    if request.is_json:
        data = request.get_json(silent=True)
        name = data.get("username") if isinstance(data, dict) else None
    else:
        name = request.form.get("username")
    if not isinstance(name, str):
        name = ""
    digest = hashlib.sha256(name[:64].encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return "account:" + digest


def _failed(resp):
    return resp.status_code == 401


def login_limited(methods=None):
    """A decorator giving a view both log-in limits: failed log-ins per account, and every
    attempt per address."""
    def decorate(view):
        # shared: the API's and the review pages' log-ins count together
        view = limiter.shared_limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], "login-account",
                                    key_func=_account_key, methods=methods, deduct_when=_failed)(view)
        return limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], "login-address",
                                    methods=methods)(view)
    return decorate
