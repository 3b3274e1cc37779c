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
    return None if value is None else _checker(spec)(value)


def _checker(spec):
    """One question's check, built once per checklist version: ``value`` (not None) -> what is
    wrong with it, or None. A push validates thousands of answers against a handful of questions."""
    kind = spec["type"]
    wrong = f"must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    if kind == "number":
        return lambda value: None if isinstance(value, (int, float)) and not isinstance(value, bool) else wrong
    if kind == "integer":
        return lambda value: None if isinstance(value, int) and not isinstance(value, bool) else wrong
    if kind == "boolean":
        return lambda value: None if isinstance(value, bool) else wrong
    if kind == "text":
        return lambda value: None if isinstance(value, str) and len(value) <= _MAX_TEXT and "\x00" not in value \
            else wrong
    if kind == "choice":
        options = spec["options"]
        wrong = f"must be one of {', '.join(map(str, options))}"
        return lambda value: None if value in options else wrong
    fields = {name: _checker(field) for name, field in spec["fields"].items()}

    def rows(value):
        if not isinstance(value, list) or len(value) > _MAX_ROWS:
            return f"must be a list of at most {_MAX_ROWS} rows"
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                return f"row {i} must be an object"
            for name, cell in row.items():
                check = fields.get(name)
                if check is None:
                    return f"row {i}: {name} is not a field of this question"
                problem = None if cell is None else check(cell)
                if problem:
                    return f"row {i}: {name} {problem}"
        return None
    return rows


def _checkers(registry, version):
    """``{item: {question: check}}`` of a checklist version, built on first use and kept on the
    registry (a registry's versions do not change once loaded)."""
    cache = registry.__dict__.setdefault("_checkers", {})
    found = cache.get(version)
    if found is None:
        found = cache[version] = {key: {q: _checker(spec) for q, spec in item["questions"].items()}
                                  for key, item in registry.versions[version].items()}
    return found


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
    checkers = _checkers(registry, version)
    for key, item in checks.items():
        questions = checkers.get(key)
        if questions is None:
            where = f"checks.{key}"
            raise InvalidChange(f"{where}: not an item of checklist version {version}", field=where)
        if not isinstance(item, dict):
            where = f"checks.{key}"
            raise InvalidChange(f"{where}: must be an object", field=where)
        if not _ITEM_KEYS.issuperset(item):
            where = f"checks.{key}"
            raise InvalidChange(f"{where}: unknown keys {', '.join(sorted(item.keys() - _ITEM_KEYS))}", field=where)
        if item.get("status") not in STATUSES:
            where = f"checks.{key}"
            raise InvalidChange(f"{where}.status must be one of {', '.join(STATUSES)}", field=f"{where}.status")
        answers = item.get("answers", {})
        if not isinstance(answers, dict):
            where = f"checks.{key}"
            raise InvalidChange(f"{where}.answers must be an object", field=f"{where}.answers")
        for name, value in answers.items():
            check = questions.get(name)
            if check is None:
                where = f"checks.{key}"
                raise InvalidChange(f"{where}.answers.{name}: not a question of checklist version {version}",
                                    field=f"{where}.answers.{name}")
            problem = None if value is None else check(value)
            if problem:
                where = f"checks.{key}"
                raise InvalidChange(f"{where}.answers.{name} {problem}", field=f"{where}.answers.{name}")
        note = item.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > _MAX_TEXT or "\x00" in note):
            where = f"checks.{key}"
            raise InvalidChange(f"{where}.note must be text of at most {_MAX_TEXT} characters", field=f"{where}.note")
    return checks
