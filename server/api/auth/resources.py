"""POST /auth/token: log a worker in on a named device; POST /auth/revoke; GET /auth/me."""
from flask import current_app, g
from flask.views import MethodView

from ...auth import authenticate, enroll_device, issue_token, login_required, revoke
from ...extensions import db
from ...ratelimits import login_limited
from ...services.devices import worker_view
from ..common import BEARER, Blueprint
from .schemas import TokenRequestSchema, TokenSchema, WorkerSchema

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Log-in tokens for workers on devices")


@blp.route("/token")
class TokenView(MethodView):
    decorators = [login_limited()]

    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, args):
        """Issue a bearer token for a worker on the named device (enrolling the device)."""
        from ...scope import scope_for
        worker = authenticate(args["username"], args["password"])
        device = enroll_device(worker, args["device_id"], args["device_name"])
        db.session.flush()
        raw, expires = issue_token(worker, device, current_app.config["TOKEN_TTL_HOURS"])
        resync = bool(device.resync_required)
        db.session.commit()
        return {"token": raw, "token_type": "Bearer", "expires_at": expires, "device_id": device.id,
                "resync_required": resync, "worker": worker_view(worker, scope_for(worker))}


@blp.route("/revoke")
class RevokeView(MethodView):
    decorators = [login_required]

    @blp.response(204)
    @blp.doc(security=BEARER)
    def post(self):
        """Revoke the token this request is made with (log out)."""
        revoke(g.token)
        db.session.commit()


@blp.route("/me")
class MeView(MethodView):
    decorators = [login_required]

    @blp.response(200, WorkerSchema)
    @blp.doc(security=BEARER)
    def get(self):
        """Who this token belongs to, and which grids they hold."""
        return worker_view(g.worker, g.scope)
