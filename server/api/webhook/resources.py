"""GET /webhook/outbox: for administrators, the city's webhook events not yet delivered, with
their attempts and last error (the same list as ``gridsync webhook-status``)."""
from flask import current_app, g
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import func, select

from sync.errors import Forbidden

from ...auth import login_required
from ...extensions import db
from ...models import WebhookOutbox
from ...services.webhooks import status
from ..common import BEARER, Blueprint

blp = Blueprint("webhook", __name__, url_prefix="/webhook", description="The city's webhook (administrators)")


class PendingSchema(Schema):
    id = fields.UUID()
    kind = fields.String()
    created_at = fields.DateTime()
    attempts = fields.Integer()
    next_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


class OutboxSchema(Schema):
    configured = fields.Boolean()
    delivered = fields.Integer()
    waiting = fields.List(fields.Nested(PendingSchema))


@blp.route("/outbox")
class OutboxView(MethodView):
    decorators = [login_required]

    @blp.response(200, OutboxSchema)
    @blp.doc(security=BEARER)
    def get(self):
        """The events not yet delivered, oldest first (up to 100), and how many were."""
        if g.worker.role != "admin":
            raise Forbidden("only an administrator may see the webhook outbox")
        delivered = db.session.execute(select(func.count()).select_from(WebhookOutbox)
                                       .where(WebhookOutbox.sent_at.is_not(None))).scalar()
        return {"configured": bool(current_app.config.get("WEBHOOK_URL")), "delivered": delivered,
                "waiting": status(100)}
