"""The words for each stable error ``code``, as gettext message ids (English), shared by the
server (Flask-Babel, server/translations/) and the SDK (stdlib gettext, client_sdk/locale/).

A refusal carries a ``code``, the ``field`` it names and its ``params``; each side renders
``message(code, field, params, gettext)`` in the reader's language. The English ``message`` a
domain error was raised with stays the developer's detail. Nothing here imports Flask.
"""
import datetime as _dt
import re

from .inputs import CATEGORY_NAMES


def N_(text):
    """Marks a message id for extraction (``pybabel extract -k N_``) without translating it."""
    return text


#: what a person reads for each code; ``%(field)s`` is the field's own name (FIELDS)
MESSAGES = {
    # typed values (sync/inputs.py)
    "invalid_id_number": N_("%(field)s is not a valid resident ID number: 18 characters, the last a digit or X, "
                            "with a right check character and birth date"),
    "invalid_phone": N_("%(field)s is not a phone number: a mobile of 11 digits (1xxxxxxxxxx) or a landline "
                        "such as 010-12345678"),
    "date_in_future": N_("%(field)s is in the future: check the date and the device's clock"),
    "before_household": N_("%(field)s is before the household was registered: check the date and the device's "
                           "clock"),
    "birth_date_too_old": N_("%(field)s is more than %(years)s years ago"),
    "unknown_category": N_("%(field)s is not a flag category of this city"),
    "invalid_server_url": N_("the server address is not an http:// or https:// address, e.g. "
                             "http://127.0.0.1:5000"),
    # a change's shape and rules (sync/entities.py, sync/replica.py, sync/protocol.py)
    "invalid_change": N_("%(field)s: this value cannot be saved"),
    "invalid_input": N_("%(field)s: this value cannot be used"),
    "bad_stamp": N_("the change's time stamp is malformed"),
    "clock_ahead": N_("the device's clock is ahead of the server's: set the device's time"),
    "stamp_node_mismatch": N_("the change was not stamped by this device's clock"),
    "unknown_entity": N_("unknown kind of record"),
    "unknown_reference": N_("%(field)s names a record the server does not have yet: send it first"),
    "append_only": N_("this record is already saved and is never edited: send a correction instead"),
    "out_of_scope": N_("this record lies outside your grids or area"),
    "cross_grid_move": N_("a record cannot move to another grid: register it in the new grid"),
    "immutable_field": N_("%(field)s cannot be changed by editing: send an event instead"),
    "not_allowed": N_("your role may not take this action at this level"),
    "level_not_moved": N_("the flag must move to another level"),
    "unknown_state": N_("the flag has never been in that state"),
    "unknown_level": N_("the flag has never been at that level"),
    "server_only": N_("%(field)s is set only by the server"),
    "stale_state": N_("the flag has moved on since you looked: look again and act on it as it is"),
    "wrong_device": N_("this record belongs to another device"),
    "summons_open": N_("a summoned department has not answered or been released yet: the case cannot close"),
    "summons_state": N_("the department's place in this case has changed: act on it as it is now"),
    # requests and sessions (server/errors.py, server/auth.py, client_sdk/errors.py)
    "not_found": N_("not found, or not yours to see"),
    "forbidden": N_("you may not do this"),
    "conflict": N_("this was decided meanwhile: look again"),
    "resync_required": N_("the device must pull everything again"),
    "schema_version_unsupported": N_("this app is too old for the server: update it"),
    "bad_credentials": N_("wrong user name or password"),
    "auth_required": N_("please log in"),
    "bad_token": N_("the log-in is not valid: log in again"),
    "token_expired": N_("the log-in has expired: log in again"),
    "token_revoked": N_("the log-in was ended: log in again"),
    "device_revoked": N_("this device has been withdrawn: ask an administrator"),
    "no_device": N_("this log-in has no device"),
    "account_disabled": N_("this account is disabled"),
    "already_exists": N_("a record with this id exists already"),
    "already_decided": N_("this was decided already"),
    "already_resolved": N_("this was resolved already"),
    "cannot_merge": N_("these records cannot be merged"),
    "cannot_undo": N_("this merge cannot be undone"),
    "method_not_allowed": N_("this address does not take this method"),
    "bad_request": N_("the request cannot be read"),
    "unsupported_media_type": N_("send JSON (Content-Type: application/json)"),
    "request_entity_too_large": N_("the request body is too large"),
    "too_many_requests": N_("too many requests: wait a little and try again"),
    "unprocessable_entity": N_("the request cannot be used"),
    "gone": N_("this is no longer available"),
    "internal_error": N_("the server failed to handle this request; nothing was changed"),
    "server_unavailable": N_("the server cannot be reached; nothing was lost, sync again later"),
    "network_error": N_("the network failed; nothing was lost, sync again later"),
    "bad_response": N_("the server's answer could not be read; nothing was lost, sync again later"),
    "store_locked": N_("the local store is encrypted: the key or passphrase is missing or wrong"),
    "store_needs_passphrase": N_("the local store is encrypted: set $%(var)s to its passphrase (or use "
                                 "--plaintext to keep a store in the clear)"),
    "passphrases_differ": N_("the two passphrases differ"),
    "empty_passphrase": N_("an empty passphrase does not protect anything"),
    "unsent_changes": N_("there are changes not yet sent: sync first, or wipe with --force"),
    "other_workers_data": N_("this tablet holds another worker's records: log out with --wipe first"),
    "no_server": N_("no server address: give it once with --server, e.g. --server http://127.0.0.1:5000"),
    "nothing_to_change": N_("nothing to change: give at least one field"),
    "wrong_store": N_("this local store belongs to another device"),
}

#: the fields a message may name, as a person calls them
FIELDS = {
    "id_number": N_("ID number"),
    "phone": N_("phone"),
    "visited_at": N_("visit time"),
    "birth_date": N_("birth date"),
    "category": N_("category"),
    "colour": N_("colour"),
    "level": N_("level"),
    "address": N_("address"),
    "building": N_("building"),
    "unit": N_("unit"),
    "room": N_("room"),
    "deleted": N_("deleted"),
    "merged_into": N_("merged into"),
    "reason": N_("reason"),
    "device_id": N_("device"),
    "server_url": N_("server address"),
    "name": N_("name"),
    "head_name": N_("head of household"),
    "gender": N_("gender"),
    "relation": N_("relation"),
    "note": N_("note"),
    "grid_id": N_("grid"),
    "grid": N_("grid"),
    "household_id": N_("household"),
    "household": N_("household"),
    "person_id": N_("person"),
    "person": N_("person"),
    "flag_id": N_("flag"),
    "flag": N_("flag"),
    "visit_id": N_("visit"),
    "visit": N_("visit"),
    "amends_id": N_("amended visit"),
    "checks": N_("checks"),
    "checklist_version": N_("checklist version"),
    "action": N_("action"),
    "from_state": N_("state"),
    "at_level": N_("level"),
    "assignee_id": N_("person to handle the case"),
    "department_id": N_("department"),
    "form_id": N_("form"),
    "stamp": N_("time stamp"),
    "server": N_("server address"),
    "answers": N_("answers"),
    "period": N_("period"),
    "fields": N_("fields"),
}


def field_name(field, gettext):
    """A field as a person calls it (``checks.income.answers.x`` by its first part)."""
    if not field:
        return gettext(N_("input"))
    head = str(field).split(".")[0]
    if head == "fields" and "." in str(field):
        head = str(field).split(".")[1]
    return gettext(FIELDS[head]) if head in FIELDS else str(field)


def message(code, field, params, gettext):
    """The message for ``code`` in the language ``gettext`` translates to, or None when the code
    has no words here (the caller keeps the detail it has)."""
    template = MESSAGES.get(code)
    if template is None:
        return None
    values = {k: v for k, v in (params or {}).items() if isinstance(v, (str, int, float))}
    values["field"] = field_name(field, gettext)
    try:
        return gettext(template) % values
    except (KeyError, ValueError, TypeError):
        return gettext(template)


#: the words for the codes records keep (state, colour, level, category, check, action), so
#: that every screen names them in its reader's language
STATES = {"reported": N_("reported"), "confirmed": N_("confirmed"), "in_progress": N_("in progress"),
          "resolved": N_("resolved"), "verified": N_("verified"), "closed": N_("closed"),
          "rejected": N_("rejected")}
COLOURS = {"red": N_("red"), "yellow": N_("yellow"), "green": N_("green")}
LEVELS = {"grid": N_("grid"), "community": N_("community"), "street": N_("street"), "district": N_("district"),
          "bureau": N_("bureau"), "city": N_("city")}
CATEGORIES = {
    "de_facto_unsupported_child": N_("de-facto unsupported child"),
    "children_in_difficulty": N_("child in difficulty"),
    "unregistered_disability": N_("disability not registered"),
    "illness_poverty": N_("poverty caused by illness"),
    "elderly_alone": N_("elderly living alone"),
    "low_income": N_("low-income household"),
    "dangerous_housing": N_("dangerous housing"),
    "food_shortage": N_("food shortage"),
    "urgent_check": N_("urgent check"),
}
ACTIONS = {"confirm": N_("confirm"), "start": N_("start handling"), "resolve": N_("resolve"),
           "verify": N_("verify by visit"), "close": N_("close"), "reject": N_("reject"), "reopen": N_("reopen"),
           "escalate": N_("escalate"), "route": N_("route"), "recolour": N_("recolour"), "note": N_("note"),
           "assign": N_("name the holder"), "summon": N_("summon departments"), "report_in": N_("report in"),
           "answer": N_("department's answer"), "release": N_("release the department"),
           "request_visit": N_("ask for the verifying visit")}
#: a summoned department's place in a case (docs/casework.md)
SUMMONS = {"summoned": N_("to report in"), "reported_in": N_("reported in, to answer"), "answered": N_("answered"),
           "released": N_("released")}
#: the kinds of record, as a person calls them
ENTITIES = {"household": N_("household"), "person": N_("person"), "visit": N_("visit"), "flag": N_("flag"),
            "flag_event": N_("flag step")}
#: what a checklist question takes (sync/checklist.py QUESTION_TYPES)
QUESTION_TYPES = {"number": N_("number"), "integer": N_("whole number"), "boolean": N_("yes or no"),
                  "text": N_("text"), "choice": N_("one of"), "rows": N_("rows")}
CHECKS = {"income": N_("income"), "food": N_("food"), "clothing": N_("clothing"), "children": N_("children"),
          "health": N_("health"), "housing": N_("housing")}
CHECK_STATUSES = {"ok": N_("ok"), "concern": N_("concern"), "urgent": N_("urgent")}
ROLES = {"grid_worker": N_("grid worker"), "community": N_("community staff"), "street": N_("street staff"),
         "district": N_("district staff"), "bureau": N_("bureau reviewer"), "admin": N_("administrator"),
         "specialist": N_("livelihood specialist")}

#: the common categories' Chinese names (sync/inputs.py takes either), back to their codes
_CATEGORY_BY_NAME = {zh: code for code, zh in CATEGORY_NAMES.items()}

#: the reasons of the built-in rules (sync/data/rules.json), said at the door; a city's own
#: rules are shown as their file says them
RULE_REASONS = (N_("a child has no one caring for them"), N_("a school-age child is not in school"),
                N_("income per person is under the minimum-living line"),
                N_("the dwelling is graded dangerous (C or D)"), N_("a disability is not certified"),
                N_("serious illness with medical debt"), N_("an elderly person lives alone"),
                N_("fewer than two meals a day"), N_("the worker marked a check urgent"))


def name(table, code, gettext):
    """``code`` as a person calls it; a category a record named by its Chinese name (as records
    made before the codes did) is found by that name."""
    if code not in table and table is CATEGORIES:
        code = _CATEGORY_BY_NAME.get(code, code)
    return gettext(table[code]) if code in table else (code or "")


# --- reasons: what the server's own events keep, and how they read ------------------------------
REASONS = {
    "overdue": N_("overdue: the %(colour)s deadline %(deadline)s passed at %(level)s level with the flag "
                  "%(state)s; escalated to %(to)s"),
}


def overdue_reason(colour, deadline, level, state, to):
    """The reason of an escalation for a missed deadline (``deadline``: an aware or UTC datetime)."""
    stamp = deadline.replace(tzinfo=None).isoformat(timespec="minutes") + "Z" if deadline.tzinfo is None \
        else deadline.astimezone(_dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="minutes") + "Z"
    return {"code": "overdue", "colour": colour, "deadline": stamp, "level": level, "state": state, "to": to}


#: the city's zone, in which times are shown (China has one)
CITY_UTC_OFFSET = _dt.timedelta(hours=8)


def reason_text(reason, gettext, utc_offset=CITY_UTC_OFFSET):
    """A reason in the reader's language, its time in local time; None for one it cannot read."""
    if not isinstance(reason, dict) or reason.get("code") not in REASONS:
        return None
    values = dict(reason)
    try:
        when = _dt.datetime.fromisoformat(str(reason.get("deadline", "")).replace("Z", "+00:00"))
        values["deadline"] = (when.astimezone(_dt.timezone.utc) + utc_offset).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        values["deadline"] = str(reason.get("deadline", ""))
    values["colour"] = name(COLOURS, reason.get("colour"), gettext)
    values["level"] = name(LEVELS, reason.get("level"), gettext)
    values["to"] = name(LEVELS, reason.get("to"), gettext)
    values["state"] = name(STATES, reason.get("state"), gettext)
    try:
        return gettext(REASONS[reason["code"]]) % values
    except (KeyError, TypeError, ValueError):
        return None
