"""Personal data at rest: AES-GCM encryption and a keyed hash (blind index) for exact lookups.

Plain ID and phone numbers exist only in memory while a request is handled; the database holds
the ciphertext and an HMAC of the normalised value, so "find this ID number" is an index lookup
without decrypting anything.
"""
import base64
import hmac
import json
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.identity import NORMALIZERS

from .jsonfast import dumps

_NONCE = 12


class PiiVault:
    def __init__(self, enc_key, index_key):
        self._aead = AESGCM(enc_key)
        self._index_key = index_key

    def encrypt(self, text):
        if text is None:
            return None
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, text.encode("utf-8"), None)

    def decrypt(self, blob):
        if blob is None:
            return None
        blob = bytes(blob)
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], None).decode("utf-8")

    def encrypt_json(self, obj):
        return self.encrypt(dumps(obj))

    def decrypt_json(self, blob):
        return json.loads(self.decrypt(blob))

    def blind_key(self, text):
        """HMAC of an already-normalised key (the matcher's blocking keys)."""
        # hmac.digest: OpenSSL's one-shot HMAC, several times faster than building an hmac object
        return hmac.digest(self._index_key, f"match:{text}".encode("utf-8"), "sha256").hex()[:32]

    def blind_index(self, kind, value):
        """HMAC of the normalised value; None when the value normalises to nothing."""
        norm = NORMALIZERS[kind](value) if value else None
        if not norm:
            return None
        return hmac.digest(self._index_key, f"{kind}:{norm}".encode("utf-8"), "sha256").hex()[:32]


def _decode_key(value, name):
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        raise RuntimeError(f"{name} is not valid base64") from None
    if len(key) != 32:
        raise RuntimeError(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


def load_keys(config, instance_path):
    """The two keys from configuration; outside production, generate a development pair once."""
    enc, idx = config.get("PII_KEY"), config.get("BLIND_INDEX_KEY")
    if enc and idx:
        return _decode_key(enc, "GRIDSYNC_PII_KEY"), _decode_key(idx, "GRIDSYNC_BLIND_INDEX_KEY")
    if enc or idx:
        raise RuntimeError("set both GRIDSYNC_PII_KEY and GRIDSYNC_BLIND_INDEX_KEY, or neither (development keys)")
    if config.get("PRODUCTION"):
        raise RuntimeError("GRIDSYNC_PII_KEY and GRIDSYNC_BLIND_INDEX_KEY must be set in production")
    path = os.path.join(instance_path, "dev-keys.json")
    if not os.path.exists(path):
        os.makedirs(instance_path, exist_ok=True)
        keys = {k: base64.b64encode(secrets.token_bytes(32)).decode() for k in ("pii", "index")}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(keys, fh)
    with open(path) as fh:
        keys = json.load(fh)
    return _decode_key(keys["pii"], "dev pii key"), _decode_key(keys["index"], "dev index key")
