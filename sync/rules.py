"""Rules that turn a visit's answers into suggested flags (category and colour).

Rules are configuration (``sync/data/rules.json`` by default, or a city's own file) and run the
same on the device — so the worker sees the warning at the door, offline — and on the server.
A suggestion is not a flag: the worker (or the server's ingest) raises one from it.
"""
import operator
import os
from dataclasses import dataclass

from .checklist import CHECK_KEYS, ChecklistConfigError, read_config
from .flags import COLOURS

DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "data", "rules.json")

_OPS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">=": operator.ge,
        ">": operator.gt, "in": lambda a, b: a in b}


@dataclass(frozen=True)
class Suggestion:
    rule_id: str
    category: str
    colour: str
    reason: str


class Rules:
    def __init__(self, data, source="rules"):
        rules = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(rules, list):
            raise ChecklistConfigError(f"{source}: needs a 'rules' list")
        self.rules = []
        seen = set()
        for i, rule in enumerate(rules):
            where = f"{source}: rules[{i}]"
            if not isinstance(rule, dict):
                raise ChecklistConfigError(f"{where}: must be an object")
            for key in ("id", "category", "colour", "when"):
                if key not in rule:
                    raise ChecklistConfigError(f"{where}: missing {key!r}")
            if rule["colour"] not in COLOURS:
                raise ChecklistConfigError(f"{where}: colour must be one of {', '.join(COLOURS)}")
            if rule["id"] in seen:
                raise ChecklistConfigError(f"{where}: id {rule['id']!r} appears twice")
            seen.add(rule["id"])
            _check_condition(rule["when"], f"{where}.when")
            self.rules.append(rule)
        order = {c: i for i, c in enumerate(COLOURS)}
        # Compiled once into closures: the server runs every rule on every visit it ingests.
        self._compiled = sorted(
            ((order[r["colour"]], Suggestion(r["id"], r["category"], r["colour"], r.get("reason", r["id"])),
              _compile(r["when"])) for r in self.rules), key=lambda t: t[0])

    def evaluate(self, checks, settings=None):
        """The suggestions a visit's ``checks`` raise, most urgent colour first."""
        settings = settings or {}
        return [s for _, s, test in self._compiled if test(checks, settings, None)]


def _check_condition(cond, where):
    if not isinstance(cond, dict):
        raise ChecklistConfigError(f"{where}: a condition must be an object")
    if "all" in cond or "any" in cond and "rows" not in cond:
        parts = cond.get("all", cond.get("any"))
        if not isinstance(parts, list) or not parts:
            raise ChecklistConfigError(f"{where}: all/any need a non-empty list")
        for i, part in enumerate(parts):
            _check_condition(part, f"{where}[{i}]")
    elif "rows" in cond:
        item, dot, question = str(cond["rows"]).partition(".")
        if item not in CHECK_KEYS or not dot or not question:
            raise ChecklistConfigError(f"{where}: rows must be '<item>.<question>'")
        _check_condition(cond.get("any"), f"{where}.any")
    elif "status" in cond:
        if cond["status"] != "*" and cond["status"] not in CHECK_KEYS:
            raise ChecklistConfigError(f"{where}: status names an unknown item {cond['status']!r}")
        if not isinstance(cond.get("in"), list) or not cond["in"]:
            raise ChecklistConfigError(f"{where}: a status condition needs an 'in' list of statuses")
    elif "answer" in cond or "field" in cond:
        if cond.get("op") not in _OPS:
            raise ChecklistConfigError(f"{where}: op must be one of {' '.join(_OPS)}")
        if "value" not in cond:
            raise ChecklistConfigError(f"{where}: a comparison needs a 'value'")
        if "answer" in cond:
            item, dot, question = str(cond["answer"]).partition(".")
            if item not in CHECK_KEYS or not dot or not question:
                raise ChecklistConfigError(f"{where}: answer must be '<item>.<question>' with an item of "
                                           f"{', '.join(CHECK_KEYS)}")
    else:
        raise ChecklistConfigError(f"{where}: not a condition: {sorted(cond)}")


def _answerer(item, question):
    """``checks -> the answer at item.question`` with the path split once, at compile time."""
    def answer(checks):
        return ((checks.get(item) or {}).get("answers") or {}).get(question)
    return answer


def _comparer(cond):
    """``(actual, settings) -> bool``: the comparison of a condition, its operator and expected
    value (or the setting that holds it) looked up once, at compile time."""
    op, expected = _OPS[cond["op"]], cond["value"]
    from_setting = isinstance(expected, dict) and "setting" in expected
    setting = expected["setting"] if from_setting else None

    def compare(actual, settings):
        want = settings.get(setting) if from_setting else expected
        if actual is None or want is None:
            return False
        try:
            return bool(op(actual, want))
        except TypeError:
            return False
    return compare


def _compile(cond):
    """A condition as a function ``(checks, settings, row) -> bool``."""
    if "all" in cond:
        parts = [_compile(c) for c in cond["all"]]
        return lambda checks, settings, row: all(p(checks, settings, row) for p in parts)
    if "rows" in cond:
        answer, inner = _answerer(*cond["rows"].partition(".")[::2]), _compile(cond["any"])
        return lambda checks, settings, row: any(
            isinstance(r, dict) and inner(checks, settings, r) for r in (answer(checks) or ()))
    if "any" in cond:
        parts = [_compile(c) for c in cond["any"]]
        return lambda checks, settings, row: any(p(checks, settings, row) for p in parts)
    if "status" in cond:
        items = CHECK_KEYS if cond["status"] == "*" else (cond["status"],)
        wanted = frozenset(cond["in"])
        return lambda checks, settings, row: any((checks.get(k) or {}).get("status") in wanted for k in items)
    compare = _comparer(cond)
    if "field" in cond:
        name = cond["field"]
        return lambda checks, settings, row: row is not None and compare(row.get(name), settings)
    answer = _answerer(*cond["answer"].partition(".")[::2])
    return lambda checks, settings, row: compare(answer(checks), settings)


def load_rules(path=None):
    """Load and validate a rules file (the built-in one when ``path`` is None)."""
    path = path or DEFAULT_PATH
    return Rules(read_config(path), source=path)
