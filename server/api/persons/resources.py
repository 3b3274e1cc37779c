"""Persons: read, create and edit within one's area/grids."""
import uuid

from flask import g
from flask.views import MethodView

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ...auth import login_required
from ...errors import ApiError
from ...extensions import db
from ...models import Household, Person
from ...services.records import present, vault
from ..common import BEARER, Blueprint, audit, audit_listed
from ..records import create, input_schema, load_in_scope, save
from ..schemas import PersonSchema

def _shown(row):
    """A written person as the response shows it; in full, that is a read like any other."""
    audit_listed("person", [row])
    out = present("person", row, g.scope.sees_full_pii)
    db.session.commit()
    return out


blp = Blueprint("persons", __name__, url_prefix="/persons", description="Persons of the register")


class PersonLookupArgs(Schema):
    id_number = fields.Str(load_default=None, validate=validate.Length(max=32))
    phone = fields.Str(load_default=None, validate=validate.Length(max=32))


@blp.route("")
class PersonCreate(MethodView):
    decorators = [login_required]

    @blp.arguments(input_schema("person", creating=True))
    @blp.response(201, PersonSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Add a person to a household."""
        pid = args.pop("id", None) or uuid.uuid4()
        create("person", pid, args)
        return _shown(db.session.get(Person, pid))


@blp.route("/lookup")
class PersonLookup(MethodView):
    decorators = [login_required]

    @blp.arguments(PersonLookupArgs)
    @blp.response(200, PersonSchema(many=True))
    @blp.doc(security=BEARER)
    def post(self, args):
        """Find persons in the caller's area by exact ID or phone number, sent in the body so
        the number stays out of URLs and access logs (the blind index: nothing is decrypted)."""
        g.scope.require_records()
        kind = "id_number" if args["id_number"] else "phone" if args["phone"] else None
        if kind is None:
            raise ApiError(422, "invalid_input", "give id_number or phone", {"id_number": ["missing"]})
        key = vault().blind_index(kind, args[kind])
        if key is None:
            return []
        rows = db.session.execute(
            select(Person).join(Household, Household.id == Person.household_id)
            .where(getattr(Person, f"{kind}_bidx") == key, Household.grid_id.in_(g.scope.grid_ids))
            .order_by(Person.name, Person.id).limit(50)).scalars().all()
        for row in rows:
            audit("lookup", "person", row.id)
        out = [present("person", r, g.scope.sees_full_pii) for r in rows]
        db.session.commit()
        return out


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
        return _shown(db.session.get(Person, person_id))
