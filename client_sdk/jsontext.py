"""JSON for the tablet's store and the wire, by orjson (as the server writes it): a page of
5,000 changes and every stored row go through here, and the standard library's encoder and
decoder took a third of the tablet's own time in a push. The output is the standard library's
compact form (``ensure_ascii=False``, no spaces); where orjson refuses what the standard library
takes (an integer beyond 64 bits, ``NaN`` in a text), the standard library answers instead, so
nothing that was readable before becomes unreadable."""
import json

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_bytes(value):
    """UTF-8 JSON bytes of ``value``; ``TypeError`` for what JSON cannot hold."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:              # orjson.JSONEncodeError included
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps(value):
    """The same as text."""
    return dumps_bytes(value).decode("utf-8")


def loads(data):
    """The value of JSON text or bytes; ``ValueError`` when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
