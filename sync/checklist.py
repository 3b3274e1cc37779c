"""The six checks (六查) a visit is recorded against, and validation of a visit's answers.

The checklist is versioned: a visit names the version it was filled against and is validated
against that version, so old visits stay readable after a city adds questions.
"""
from .errors import InvalidChange

CHECK_KEYS = ("income", "food", "clothing", "children", "health", "housing")
STATUSES = ("ok", "concern", "urgent")

#: Built-in checklist versions. Version 1 is the national six checks with no city questions.
CHECKLISTS = {
    1: {
        "version": 1,
        "items": {
            "income": {"phrase": "点点钱袋子"},
            "food": {"phrase": "掂掂米袋子"},
            "clothing": {"phrase": "看看衣柜子"},
            "children": {"phrase": "问问小孩子"},
            "health": {"phrase": "望望身板子"},
            "housing": {"phrase": "查查住宅子"},
        },
    }
}

_MAX_NOTE = 2000
_ITEM_KEYS = frozenset({"status", "answers", "note"})
_MAX_ANSWERS = 64


_SCALARS = (bool, int, float, type(None))


def _answer_problem(value, depth=0):
    """What is wrong with one answer value, or None (the common case, kept cheap)."""
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, str):
        return f"text longer than {_MAX_NOTE} characters" if len(value) > _MAX_NOTE else None
    if depth < 2 and isinstance(value, (list, dict)) and len(value) <= _MAX_ANSWERS:
        # a list of values, or of small records (e.g. one row per child): two levels at most
        items = value.values() if isinstance(value, dict) else value
        if depth == 1 and isinstance(value, dict) and any(isinstance(v, (list, dict)) for v in items):
            return "nested too deep"
        for item in items:
            problem = _answer_problem(item, depth + 1)
            if problem:
                return problem
        return None
    return "nested too deep" if isinstance(value, (list, dict)) else "unsupported answer value"


def validate_checks(checks, version):
    """Validate a visit's ``checks`` against checklist ``version``; return it unchanged."""
    if version not in CHECKLISTS:
        raise InvalidChange(f"unknown checklist version {version!r}", field="checklist_version")
    items = CHECKLISTS[version]["items"]
    if not isinstance(checks, dict):
        raise InvalidChange("checks must be an object keyed by check item", field="checks")
    missing = [k for k in items if k not in checks]
    if missing:
        raise InvalidChange(f"checks is missing {', '.join(missing)}", field="checks")
    for key, item in checks.items():
        where = f"checks.{key}"
        if key not in items:
            raise InvalidChange(f"{where}: not an item of checklist version {version}", field=where)
        if not isinstance(item, dict):
            raise InvalidChange(f"{where}: must be an object", field=where)
        unknown = item.keys() - _ITEM_KEYS
        if unknown:
            raise InvalidChange(f"{where}: unknown keys {', '.join(sorted(unknown))}", field=where)
        if item.get("status") not in STATUSES:
            raise InvalidChange(f"{where}.status must be one of {', '.join(STATUSES)}", field=f"{where}.status")
        answers = item.get("answers", {})
        if not isinstance(answers, dict) or len(answers) > _MAX_ANSWERS:
            raise InvalidChange(f"{where}.answers must be an object of at most {_MAX_ANSWERS} answers",
                                field=f"{where}.answers")
        for name, value in answers.items():
            problem = _answer_problem(value)
            if problem:
                raise InvalidChange(f"{where}.answers.{name}: {problem}", field=f"{where}.answers.{name}")
        note = item.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > _MAX_NOTE):
            raise InvalidChange(f"{where}.note must be text of at most {_MAX_NOTE} characters", field=f"{where}.note")
    return checks
