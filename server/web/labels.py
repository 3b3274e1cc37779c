"""Words the review pages show for the codes the records keep, in the reader's language: each
table looks its word up in sync/messages.py and translates it when read (``LEVELS.street``,
``STATES.get(code)``), so a template never holds a language of its own."""
from flask_babel import gettext

from sync import messages
from sync.messages import N_


class Words:
    """``code -> word`` through gettext; an unknown code (a category a record named in Chinese)
    is shown as it is."""

    def __init__(self, table):
        self.table = table

    def get(self, code, default=None):
        if code not in self.table and self.table is messages.CATEGORIES:
            return messages.name(self.table, code, gettext)
        return gettext(self.table[code]) if code in self.table else (code if default is None else default)

    def __getitem__(self, code):
        return self.get(code)

    def __getattr__(self, code):
        if code.startswith("_") or code not in self.table:
            raise AttributeError(code)
        return self.get(code)


CATEGORIES = Words(messages.CATEGORIES)
STATES = Words(messages.STATES)
LEVELS = Words(messages.LEVELS)
COLOURS = Words(messages.COLOURS)
ACTIONS = Words(messages.ACTIONS)
CHECKS = Words(messages.CHECKS)
CHECK_STATUS = Words(messages.CHECK_STATUSES)
ROLES = Words(messages.ROLES)
#: the case lists' filters
STATUSES = Words({"open": N_("open"), "overdue": N_("overdue"), "active": N_("in hand"),
                  "escalated": N_("escalated"), "closed": N_("closed"), "rejected": N_("rejected"),
                  "all": N_("all")})


def category(code):
    return CATEGORIES.get(code)


SUMMONS = Words(messages.SUMMONS)

#: roles as the admin pages name them (a department's staff too)
ROLE_NAMES = Words({**messages.ROLES, "department": N_("department staff")})
#: what an audit row says was done, and to what
AUDIT_ACTIONS = Words({"open_case": N_("opened the case"), "read": N_("opened the full record"),
                       "list": N_("listed with numbers in full"), "lookup": N_("looked up by number"),
                       "move": N_("moved to another grid")})
AUDIT_ENTITIES = Words({"flag": N_("case"), "household": N_("household"), "person": N_("person")})
#: the webhook's events (docs/casework.md §10)
WEBHOOK_KINDS = Words({"summoned": N_("department summoned"), "escalated": N_("escalated by staff"),
                       "overdue": N_("overdue, moved up"), "late_report": N_("department late to report in"),
                       "late_answer": N_("department late to answer"), "overdue_top": N_("overdue at the bureau")})
