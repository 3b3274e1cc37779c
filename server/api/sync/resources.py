"""POST /sync/exchange (one round trip), and POST /sync/push and GET /sync/pull: the protocol in
docs/protocol.md."""
import datetime as dt

from flask import Response, current_app, g, jsonify
from flask.views import MethodView

from ...jsonfast import dumps
from ...services.devices import city_config, versions as versions_of, worker_view
from .schemas import (ExchangeRequestSchema, ExchangeResponseSchema, PullArgsSchema, PullResponseSchema,
                      PushRequestSchema, PushResponseSchema)

from ...auth import login_required
from ...errors import ApiError
from ...extensions import db
from ...models.types import utcnow
from ...scope import DEVICE_ROLES, ScopePolicy
from ...services import ingest, pull
from ..common import BEARER, Blueprint

LAST_SEEN_EVERY = dt.timedelta(minutes=5)

blp = Blueprint("sync", __name__, url_prefix="/sync", description="Device sync: push changes, pull changes")


def _device():
    if g.worker.role not in DEVICE_ROLES:
        raise ApiError(403, "forbidden", f"the {g.worker.role} role does not sync a device")
    if g.device is None:
        raise ApiError(403, "no_device", "this token was not issued for a device")
    now = utcnow()
    seen = g.device.last_seen_at
    if seen is None or now - seen > LAST_SEEN_EVERY:
        # written at most every few minutes: on SQLite every write takes the database lock
        g.device.last_seen_at = now
    return g.device


def _synced(device, req, pending):
    """Note a push or exchange on the device for the admin pages: when, and what it said it still
    holds unsent. Written with a batch (a write anyway), when the count changed, or at most
    every few minutes otherwise (on SQLite every write takes the database lock)."""
    now = utcnow()
    if (req["changes"] or (pending is not None and pending != device.unsent_changes)
            or device.last_sync_at is None or now - device.last_sync_at > LAST_SEEN_EVERY):
        device.last_sync_at = now
        if pending is not None:
            device.unsent_changes = pending


@blp.route("/push")
class PushView(MethodView):
    decorators = [login_required]

    @blp.arguments(PushRequestSchema)
    @blp.response(200, PushResponseSchema)
    @blp.doc(security=BEARER)
    def post(self, req):
        """Apply a batch of changes; each gets its own result (applied, already_applied,
        merged_with_conflict or rejected with a reason)."""
        device = _device()
        results = ingest.push(req, worker=g.worker, device_id=device.id,
                              policy=ScopePolicy(g.scope, device_id=device.id))
        _synced(device, req, req.get("pending"))
        db.session.commit()
        # Returned as a Response: the result list is plain data already, and re-validating
        # hundreds of results through the schema (kept for the OpenAPI document) costs more.
        return jsonify(results=results, server_stamp=current_app.extensions["hlc"].now())


@blp.route("/pull")
class PullView(MethodView):
    decorators = [login_required]

    @blp.arguments(PullArgsSchema, location="query")
    @blp.response(200, PullResponseSchema)
    @blp.doc(security=BEARER)
    def get(self, args):
        """Changes in the caller's grids after ``cursor``, oldest first; ``more`` says whether
        to ask again. A 410 ``resync_required`` means: pull again without a cursor."""
        device = _device()
        body = pull.pull_page(g.scope.grid_ids, args["cursor"], args["limit"],
                              current_app.extensions["hlc"].now(), device=device)
        db.session.commit()
        return Response(body, mimetype="application/json")


@blp.route("/exchange")
class ExchangeView(MethodView):
    decorators = [login_required]

    @blp.arguments(ExchangeRequestSchema)
    @blp.response(200, ExchangeResponseSchema)
    @blp.doc(security=BEARER)
    def post(self, req):
        """One sync in one round trip: push the batch, pull the first page after ``cursor``, and
        send the worker's grids and the city's configuration only when the versions the device
        names in ``have`` are not current. When the grids changed the page starts from the
        beginning (their history is behind the cursor). A cursor the server cannot trust is a
        410 before anything is applied."""
        device = _device()
        versions = versions_of(g.worker, g.scope)
        regrid = req["have"].get("grids") != versions["grids"]
        cursor = None if regrid else req["cursor"]
        epoch = pull.current_epoch()
        after = pull.check_cursor(cursor, g.scope.grid_ids, device, epoch=epoch)
        head = {}
        if req["changes"]:
            req.setdefault("device_id", device.id)
            head["results"] = ingest.push(req, worker=g.worker, device_id=device.id,
                                          policy=ScopePolicy(g.scope, device_id=device.id))
        elif req.get("device_id") not in (None, device.id):
            raise ApiError(403, "wrong_device", "device_id does not match the device this token was issued for")
        # an exchange that leaves out pending has nothing waiting (docs/protocol.md §6.7); with no
        # batch, this is committed with the page
        _synced(device, req, req.get("pending") or 0)
        if req["changes"]:
            db.session.commit()
        parts, cursor, more = pull.page(g.scope.grid_ids, cursor, req["limit"], device, after=after, epoch=epoch)
        db.session.commit()
        # On a cheap link every byte of a no-op costs time: what is empty or what the device
        # already holds is left out (docs/protocol.md §6.7): no results without changes, no
        # empty page, no cursor the device sent, no ``more`` when false, no versions the device
        # named in ``have``, and no server stamp when nothing was exchanged to order after.
        if head or parts:
            head["server_stamp"] = current_app.extensions["hlc"].now()
        if cursor != req["cursor"] or regrid:
            head["cursor"] = cursor
        if more:
            head["more"] = True
        if req["have"] != versions:
            head["versions"] = versions
        if regrid:
            head["worker"] = worker_view(g.worker, g.scope)
        if req["have"].get("config") != versions["config"]:
            head["config"] = city_config()
        if not parts:
            return Response(dumps(head), mimetype="application/json")
        # the page's changes are stored JSON: joined, not decoded and encoded again
        body = dumps(head)[:-1] + ',"changes":[' + ",".join(parts) + "]}"
        return Response(body, mimetype="application/json")
