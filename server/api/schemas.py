"""Response schemas derived from the models (marshmallow-sqlalchemy), shared by resources.

Personal columns (ciphertext, blind index) and merge stamps are never serialised; the
readable, role-masked ``phone`` / ``id_number`` are added in their place.
"""
from marshmallow import fields
from marshmallow_sqlalchemy import SQLAlchemyAutoSchema, auto_field

from ..models import Area, Flag, FlagEvent, Household, Person, Visit

_HIDDEN = ("phone_enc", "phone_bidx", "stamps")


class HouseholdSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = Household
        include_fk = True
        exclude = _HIDDEN

    phone = fields.Str(allow_none=True)


class PersonSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = Person
        include_fk = True
        exclude = _HIDDEN + ("id_number_enc", "id_number_bidx")

    phone = fields.Str(allow_none=True)
    id_number = fields.Str(allow_none=True)
    # Rows are presented as wire values (sync/entities.py): the date is already ISO text.
    birth_date = fields.Str(allow_none=True)


class VisitSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = Visit
        include_fk = True


class FlagEventSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = FlagEvent
        include_fk = True


class FlagSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = Flag
        include_fk = True
        exclude = ("stamps",)

    events = fields.List(fields.Nested(FlagEventSchema), dump_only=True)
    #: events whose author acted on an out-of-date state (sync/flags.py): for a person to check
    concurrent_event_ids = fields.List(fields.Str(), dump_only=True)
    overdue = fields.Bool(dump_only=True)
    #: the transitions the caller may offer on this flag now
    allowed_actions = fields.List(fields.Str(), dump_only=True)


class AreaSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = Area
        include_fk = True
        exclude = ("path",)

    id = auto_field(dump_only=True)
