"""The six checks (六查) a visit is recorded against, as versioned configuration.

The checklist is data (``sync/data/checklists.json`` by default, or a city's own file): each
version lists the six items and their typed questions. A visit names the version it was filled
against and is validated against that version, so old visits stay readable after a city adds
questions in a new version. Server and device load the same file.
"""
import json
import os

from .errors import InvalidChange

CHECK_KEYS = ("income", "food", "clothing", "children", "health", "housing")
STATUSES = ("ok", "concern", "urgent")
QUESTION_TYPES = ("number", "integer", "boolean", "text", "choice", "rows")
DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "data", "checklists.json")

_MAX_TEXT = 2000
_MAX_ROWS = 64
_ITEM_KEYS = frozenset({"status", "answers", "note"})


class ChecklistConfigError(ValueError):
    """A checklist file that cannot be used; the message says where and what."""


def _question(spec, where):
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or spec.get("type") not in QUESTION_TYPES:
        raise ChecklistConfigError(f"{where}: type must be one of {', '.join(QUESTION_TYPES)}")
    if spec["type"] == "choice" and not (isinstance(spec.get("options"), list) and spec["options"]):
        raise ChecklistConfigError(f"{where}: a choice needs a non-empty options list")
    if spec["type"] == "rows":
        fields = spec.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise ChecklistConfigError(f"{where}: rows need a fields object")
        spec = dict(spec, fields={name: _question(f, f"{where}.fields.{name}") for name, f in fields.items()})
        if any(f["type"] == "rows" for f in spec["fields"].values()):
            raise ChecklistConfigError(f"{where}: rows cannot nest rows")
    return spec


class Checklists:
    """Every checklist version a city has used, plus its settings (e.g. the minimum-living line)."""

    def __init__(self, data, source="checklist"):
        if not isinstance(data, dict) or not isinstance(data.get("versions"), list) or not data["versions"]:
            raise ChecklistConfigError(f"{source}: needs a non-empty 'versions' list")
        self.settings = data.get("settings", {})
        self.versions = {}
        for i, version in enumerate(data["versions"]):
            where = f"{source}: versions[{i}]"
            number = version.get("version") if isinstance(version, dict) else None
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise ChecklistConfigError(f"{where}: 'version' must be a positive integer")
            if number in self.versions:
                raise ChecklistConfigError(f"{where}: version {number} appears twice")
            items = version.get("items")
            if not isinstance(items, dict) or sorted(items) != sorted(CHECK_KEYS):
                raise ChecklistConfigError(f"{where}: items must be exactly {', '.join(CHECK_KEYS)}")
            for key, item in items.items():
                if not isinstance(item, dict):
                    raise ChecklistConfigError(f"{where}.items.{key}: must be an object")
                if not isinstance(item.get("questions", {}), dict):
                    raise ChecklistConfigError(f"{where}.items.{key}.questions: must be an object")
            self.versions[number] = {
                key: {"phrase": item.get("phrase", key),
                      "questions": {q: _question(spec, f"{where}.items.{key}.questions.{q}")
                                    for q, spec in (item.get("questions") or {}).items()}}
                for key, item in items.items()}
        self.latest = max(self.versions)

    def as_dict(self):
        return {"settings": self.settings, "latest": self.latest,
                "versions": [{"version": v, "items": items} for v, items in sorted(self.versions.items())]}


def read_config(path):
    """A city's JSON configuration file, or a ChecklistConfigError saying why it cannot be."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise ChecklistConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ChecklistConfigError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None


def load_checklists(path=None):
    """Load and validate a checklist file (the built-in one when ``path`` is None)."""
    path = path or DEFAULT_PATH
    return Checklists(read_config(path), source=path)


_default = None


def default_checklists():
    global _default
    if _default is None:
        _default = load_checklists()
    return _default


def _answer_problem(spec, value):
    """What is wrong with one answer, or None (the common case, kept cheap)."""
    if value is None:
        return None
    kind = spec["type"]
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "text":
        ok = isinstance(value, str) and len(value) <= _MAX_TEXT and "\x00" not in value
    elif kind == "choice":
        ok = value in spec["options"]
        if not ok:
            return f"must be one of {', '.join(map(str, spec['options']))}"
    else:
        if not isinstance(value, list) or len(value) > _MAX_ROWS:
            return f"must be a list of at most {_MAX_ROWS} rows"
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                return f"row {i} must be an object"
            for name, cell in row.items():
                field = spec["fields"].get(name)
                if field is None:
                    return f"row {i}: {name} is not a field of this question"
                problem = _answer_problem(field, cell)
                if problem:
                    return f"row {i}: {name} {problem}"
        return None
    return None if ok else f"must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def validate_checks(checks, version, checklists=None):
    """Validate a visit's ``checks`` against checklist ``version``; return it unchanged."""
    registry = checklists or default_checklists()
    items = registry.versions.get(version) if isinstance(version, int) else None
    if items is None:
        raise InvalidChange(f"unknown checklist version {version!r}", field="checklist_version")
    if not isinstance(checks, dict):
        raise InvalidChange("checks must be an object keyed by check item", field="checks")
    missing = [k for k in items if k not in checks]
    if missing:
        raise InvalidChange(f"checks is missing {', '.join(missing)}", field="checks")
    for key, item in checks.items():
        where = f"checks.{key}"
        spec = items.get(key)
        if spec is None:
            raise InvalidChange(f"{where}: not an item of checklist version {version}", field=where)
        if not isinstance(item, dict):
            raise InvalidChange(f"{where}: must be an object", field=where)
        unknown = item.keys() - _ITEM_KEYS
        if unknown:
            raise InvalidChange(f"{where}: unknown keys {', '.join(sorted(unknown))}", field=where)
        if item.get("status") not in STATUSES:
            raise InvalidChange(f"{where}.status must be one of {', '.join(STATUSES)}", field=f"{where}.status")
        answers = item.get("answers", {})
        if not isinstance(answers, dict):
            raise InvalidChange(f"{where}.answers must be an object", field=f"{where}.answers")
        questions = spec["questions"]
        for name, value in answers.items():
            question = questions.get(name)
            if question is None:
                raise InvalidChange(f"{where}.answers.{name}: not a question of checklist version {version}",
                                    field=f"{where}.answers.{name}")
            problem = _answer_problem(question, value)
            if problem:
                raise InvalidChange(f"{where}.answers.{name} {problem}", field=f"{where}.answers.{name}")
        note = item.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > _MAX_TEXT or "\x00" in note):
            raise InvalidChange(f"{where}.note must be text of at most {_MAX_TEXT} characters", field=f"{where}.note")
    return checks
