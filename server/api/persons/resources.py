"""Persons: read, create and edit within one's area/grids."""
import uuid

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from ...auth import login_required
from ...extensions import db
from ...models import Person
from ...services.records import present
from ..common import BEARER, audit
from ..records import input_schema, load_in_scope, save
from ..schemas import PersonSchema

blp = Blueprint("persons", __name__, url_prefix="/persons", description="Persons of the register")


@blp.route("")
class PersonCreate(MethodView):
    decorators = [login_required]

    @blp.arguments(input_schema("person", creating=True))
    @blp.response(201, PersonSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Add a person to a household."""
        pid = args.pop("id", None) or uuid.uuid4()
        save("person", pid, args)
        return present("person", db.session.get(Person, pid), g.scope.sees_full_pii)


@blp.route("/<uuid:person_id>")
class PersonItem(MethodView):
    decorators = [login_required]

    @blp.response(200, PersonSchema)
    @blp.doc(security=BEARER)
    def get(self, person_id):
        """One person in full (the read is audited)."""
        row = load_in_scope("person", person_id)
        audit("read", "person", person_id)
        out = present("person", row, g.scope.sees_full_pii)
        db.session.commit()
        return out

    @blp.arguments(input_schema("person", creating=False))
    @blp.response(200, PersonSchema)
    @blp.doc(security=BEARER)
    def patch(self, args, person_id):
        """Change some fields of a person."""
        load_in_scope("person", person_id, write=True)
        save("person", person_id, args)
        return present("person", db.session.get(Person, person_id), g.scope.sees_full_pii)
