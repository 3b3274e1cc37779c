"""Encryption at rest of what the device holds: every record's values, visits, flag events,
the outbox, the refused changes, the worker and the token.

A lost tablet should not hand over anyone's name or ID number. The key comes from the app (32
random bytes it keeps in the platform's key store) or is derived from a passphrase with scrypt
(memory-hard, so guessing is slow even on a GPU); each value is sealed with AES-GCM and a fresh
nonce, bound to its row by associated data so a value cannot be moved from one record to
another unnoticed. A store made with ``plaintext=True`` (an explicit opt-out) keeps plain JSON
through the same calls, so the store has one code path.
"""
import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from . import jsontext
from .errors import StoreLocked

#: scrypt cost: about 0.1 s and 32 MB on a tablet, once per opening of the store.
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
_CHECK = b"gridsync local store key check"
_NONCE = 12


#: how a sealed text column starts (a plain one is JSON, so it never does)
_TEXT = "enc:"


class PlainSealer:
    """The explicit opt-out: values are kept as JSON text."""

    encrypted = False

    def seal(self, value, aad):
        return jsontext.dumps_bytes(value)

    def open(self, blob, aad):
        return jsontext.loads(blob)

    def seal_text(self, text, aad):
        return text

    def open_text(self, stored, aad):
        if stored.startswith(_TEXT):
            raise StoreLocked("this store holds encrypted values: open it with its key or passphrase")
        return stored


class AesSealer(PlainSealer):
    encrypted = True

    def __init__(self, key):
        self._aead = AESGCM(key)

    def seal(self, value, aad):
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, super().seal(value, aad), aad.encode("utf-8"))

    def open(self, blob, aad):
        try:
            plain = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad.encode("utf-8"))
        except InvalidTag:
            raise StoreLocked("a personal field cannot be decrypted: wrong passphrase or a damaged store") from None
        return jsontext.loads(plain)

    def seal_text(self, text, aad):
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, text.encode("utf-8"), aad.encode("utf-8"))
        return _TEXT + base64.b64encode(sealed).decode("ascii")

    def open_text(self, stored, aad):
        if not stored.startswith(_TEXT):
            return stored           # written plain by a version that sealed personal fields only
        blob = base64.b64decode(stored[len(_TEXT):])
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            raise StoreLocked("a value cannot be decrypted: wrong key or a damaged store") from None


def from_key(key):
    """The sealer of a key the app keeps (32 random bytes, e.g. in Android's Keystore)."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        raise StoreLocked("the store key must be 32 bytes")
    return AesSealer(bytes(key))


def new_kdf_params():
    return {"alg": "scrypt", **SCRYPT, "salt": base64.b64encode(os.urandom(16)).decode("ascii")}


def derive(passphrase, params):
    if not passphrase:
        raise StoreLocked("this store's personal fields are encrypted: give the passphrase")
    kdf = Scrypt(salt=base64.b64decode(params["salt"]), length=32, n=params["n"], r=params["r"], p=params["p"])
    return AesSealer(kdf.derive(passphrase.encode("utf-8")))


def key_check(sealer):
    """A value stored with the store, so a wrong passphrase is refused on opening rather than
    producing garbage later."""
    return base64.b64encode(sealer.seal(_CHECK.decode(), "key-check")).decode("ascii")


def verify(sealer, check):
    try:
        ok = sealer.open(base64.b64decode(check), "key-check") == _CHECK.decode()
    except StoreLocked:
        ok = False
    if not ok:
        raise StoreLocked("wrong passphrase for this store")
