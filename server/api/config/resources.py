"""GET /config: the city's checklist versions, flag rules, deadlines and re-visit intervals,
so a device validates visits and shows warnings at the door exactly as the server will."""
from flask.views import MethodView
from marshmallow import Schema, fields

from ...auth import login_required
from ...services.devices import city_config
from ..common import BEARER, Blueprint

blp = Blueprint("config", __name__, url_prefix="/config", description="Casework configuration for devices")


class ConfigSchema(Schema):
    checklists = fields.Dict()
    rules = fields.List(fields.Dict())
    deadline_hours = fields.Dict()
    revisit_days = fields.Dict()


@blp.route("")
class ConfigView(MethodView):
    decorators = [login_required]

    @blp.response(200, ConfigSchema)
    @blp.doc(security=BEARER)
    def get(self):
        """Everything a device needs to run the six checks and the rules offline."""
        return city_config()
