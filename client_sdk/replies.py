"""The shapes the SDK relies on in the server's answers (docs/protocol.md), checked before use.

A reply cut inside its headers can reach the SDK as a 200 with an empty body; a proxy can answer
with an HTML page. Anything that is not the shape the protocol gives is a failed request
(``BadResponse``, retried like a dropped connection), never a ``None`` read as a dict, and never
stored over what the device already has.
"""
from .errors import BadResponse


def _need(ok, what):
    if not ok:
        raise BadResponse(f"the server's answer is not usable: {what}")


def _dict(body, what):
    _need(isinstance(body, dict), f"{what} must be a JSON object")
    return body


def token(body):
    body = _dict(body, "the log-in answer")
    _need(isinstance(body.get("token"), str) and body["token"], "no token in the log-in answer")
    worker(body.get("worker"))
    return body


def worker(body):
    body = _dict(body, "the worker")
    _need(isinstance(body.get("id"), str) and isinstance(body.get("role"), str), "the worker has no id or role")
    grids = body.get("grid_ids")
    _need(isinstance(grids, list) and all(isinstance(g, str) for g in grids), "grid_ids must be a list of ids")
    return body


def config(body):
    body = _dict(body, "the city's configuration")
    _need(isinstance(body.get("checklists"), dict) and isinstance(body.get("rules"), list),
          "the configuration lacks its checklists or rules")
    return body


def push(body, sent):
    body = _dict(body, "the push answer")
    results = body.get("results")
    _need(isinstance(results, list) and all(isinstance(r, dict) for r in results),
          "the push answer has no list of results")
    _need(len(results) == sent, f"{len(results)} results for {sent} changes")
    return body


def page(body):
    body = _dict(body, "the pulled page")
    changes = body.get("changes")
    _need(isinstance(changes, list), "the page has no list of changes")
    _need(isinstance(body.get("cursor"), str) and isinstance(body.get("more"), bool), "the page has no cursor")
    for c in changes:
        _need(isinstance(c, dict) and isinstance(c.get("entity"), str) and isinstance(c.get("entity_id"), str)
              and isinstance(c.get("stamp"), str) and isinstance(c.get("fields"), dict),
              "a pulled change is not {entity, entity_id, stamp, fields}")
    return body


def exchange(body, sent, have, cursor):
    """One exchange's answer: the push results, a page, the versions, and what changed. What
    the server leaves out is what is empty or unchanged (docs/protocol.md §6.7): no results when
    nothing was sent, no changes on an empty page, no cursor when it is the one sent, no
    ``more`` when false, no versions when they are ``have``."""
    body = _dict(body, "the exchange answer")
    body.setdefault("changes", [])
    body.setdefault("more", False)
    if cursor is not None:
        body.setdefault("cursor", cursor)
    if not sent:
        body.setdefault("results", [])
    body.setdefault("versions", dict(have))
    body = push(page(body), sent)
    versions = body.get("versions")
    _need(isinstance(versions, dict) and all(isinstance(v, str) for v in versions.values()),
          "the answer has no versions")
    if "worker" in body:
        worker(body["worker"])
    if "config" in body:
        config(body["config"])
    return body
