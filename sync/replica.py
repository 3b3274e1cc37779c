"""Apply a batch of changes to a replica: the one engine behind the server's push, a tablet's
local writes and the pages it pulls (docs/protocol.md §6.2, §7.4, §11).

The caller loads, the engine decides, the caller writes:

1. ``wanted(changes, view)`` names the rows a batch may read; the caller loads them into a
   ``View`` and asks again (a loaded person names its household, a merged-away copy its
   survivor) until nothing more is wanted. Nothing is fetched in the middle of applying.
2. ``accept(changes, view, policy, ...)`` applies changes a device or a person made, with every
   rule (shape, scope, references, immutable fields, the flag lifecycle), change by change,
   each whole or not at all. ``replay(changes, view)`` applies changes a server already
   accepted (a pulled page): the merge rules only, in any order, idempotent.
3. The caller writes the ``Outcome``: dirty records, new visits and flag events, conflicts, the
   log of what was accepted, the flags to refold.

Nothing here reads a database or a clock it was not handed.
"""
import uuid
from dataclasses import dataclass, field

from . import inputs
from .casework import may_act, may_raise, summons_refusal
from .changes import make_change
from .entities import ENTITIES, IMMUTABLE, SERVER_ONLY
from .errors import Conflicting, InvalidChange, OutOfScope, SyncError
from .flags import DEFAULT_LEVEL, LEVELS, SUMMONS_STEPS, TRANSITIONS
from .merge import merge_fields, node_of

RECORDS = ("household", "person", "flag")
#: reference fields and the entity (or kind of row) each one names
REFERENCES = (("household_id", "household"), ("person_id", "person"), ("flag_id", "flag"),
              ("amends_id", "visit"), ("visit_id", "visit"))
#: what a device's edit of a merged-away copy does not carry over to the survivor
NOT_CARRIED = frozenset({"deleted", "merged_into", "household_id", "grid_id"})
#: how many merges deep a chain of merged-away copies is followed
MAX_CHAIN = 16


@dataclass
class Record:
    """A household, person or flag as a replica holds it. ``grid``: the grid it lies in (a
    household's own, a person's or flag's through its household)."""

    values: dict
    stamps: dict
    grid: str | None = None
    new: bool = False
    dirty: bool = False


@dataclass
class Trail:
    """What a flag has been through, for the lifecycle rules: where it is and in which state
    now, and every state and level it has been in (a device may act on an old view, but only
    on a real one)."""

    level: str
    state: str = "reported"
    states: set = field(default_factory=lambda: {"reported"})
    levels: set = field(default_factory=set)
    #: department id -> its summons's state (sync/flags.py ``fold_summons``)
    summons: dict = field(default_factory=dict)

    def __post_init__(self):
        self.levels.add(self.level)
        self.states.add(self.state)

    @classmethod
    def of(cls, initial_level, current_level, actions, state="reported"):
        """From a flag's stored events (``actions``: (action, level) or (action, level,
        department id) tuples; any order, but department events in stamp order) and its folded
        ``state`` and ``current_level``."""
        trail = cls(current_level or initial_level or DEFAULT_LEVEL, state or "reported")
        trail.levels.add(initial_level or DEFAULT_LEVEL)
        for action, level, *department in actions:
            if action in TRANSITIONS:
                trail.states.add(TRANSITIONS[action][1])
            elif action in ("escalate", "route") and level:
                trail.levels.add(level)
            elif action in SUMMONS_STEPS and department and department[0]:
                trail.step_summons(action, department[0])
        return trail

    def step_summons(self, action, department):
        starts, to = SUMMONS_STEPS[action]
        if self.summons.get(department) in starts:
            self.summons[department] = to


class View:
    """What a batch may read. Loaders put rows in with ``put``/``put_visit``/…, and record what
    they looked for and did not find with ``looked``, so ``wanted`` does not ask twice."""

    def __init__(self):
        self.records = {e: {} for e in RECORDS}
        self.visits = {}        # visit id -> household id
        self.events = set()     # flag event ids
        self.trails = {}        # flag id -> Trail
        self.applied = set()    # change ids already applied here
        self._looked = {k: set() for k in (*RECORDS, "visit", "flag_event", "trail", "change")}

    def put(self, entity, rid, values, stamps):
        self.records[entity][rid] = Record(values, dict(stamps))

    def looked(self, kind, ids):
        self._looked[kind].update(ids)

    def record(self, entity, rid):
        return self.records.get(entity, {}).get(rid)

    def survivor(self, entity, rid):
        """Where a merged-away record now lives (following a chain of merges)."""
        for _ in range(MAX_CHAIN):
            rec = self.records[entity].get(rid)
            if rec is None or not rec.values.get("merged_into"):
                return rid
            rid = rec.values["merged_into"]
        return rid

    def grid_of(self, entity, rec):
        if entity == "household":
            return rec.values.get("grid_id")
        home = self.records["household"].get(rec.values.get("household_id"))
        return home.values.get("grid_id") if home else rec.grid


def wanted(changes, view, *, trails=True):
    """``{kind: ids}`` the view lacks and the batch may read: the records and rows changes name,
    the households of loaded persons and flags, the survivors of loaded merged-away copies, the
    trails of flags that events move, and whether change ids were applied already. Empty when
    the view holds all it needs."""
    want = {k: set() for k in view._looked}
    want["change"].update(c["change_id"] for c in changes)
    references = [(key, want[target]) for key, target in REFERENCES]
    for c in changes:
        entity, f = c["entity"], c["fields"]
        want[entity].add(c["entity_id"])
        if not isinstance(f, dict):
            continue
        for key, ids in references:
            ref = f.get(key)
            if isinstance(ref, str):
                ids.add(ref)
        if trails and entity == "flag_event" and isinstance(f.get("flag_id"), str):
            want["trail"].add(f["flag_id"])
    for entity in RECORDS:
        for rec in view.records[entity].values():
            if rec.values.get("household_id"):
                want["household"].add(rec.values["household_id"])
            if rec.values.get("merged_into"):
                want[entity].add(rec.values["merged_into"])
    held = {"visit": view.visits, "flag_event": view.events, "trail": view.trails, "change": view.applied,
            **view.records}
    lacking = {kind: ids.difference(held[kind], view._looked[kind]) for kind, ids in want.items()}
    return {kind: ids for kind, ids in lacking.items() if ids}


# --- who applies a batch ---------------------------------------------------------------------
class Policy:
    """Who applies a batch and what they may do. The server builds one from the caller's scope
    (server/scope.py), the tablet from its worker and grids. ``node``: stamps must carry it
    (None: any); ``server``: the server's own changes (merges, escalations), which may set
    server-only fields; ``carry_over``: edits to a merged-away copy are carried to its survivor."""

    role = None
    node = None
    server = False
    carry_over = False
    #: a person acting online, who sees the flag as it is now: a transition made on a state or
    #: level that is no longer current is refused (409) instead of recorded as concurrent
    online = False
    #: the tablet checking its own write against its own view, which it can know in full (a
    #: flag's person must be a member of its household); the server accepts what the device
    #: could not have known (a member moved or merged away meanwhile)
    local = False
    #: changes the server makes in consequence of another's (logged as the server's own)
    followup = False
    #: the server answering a person or a device: a record outside the caller's grids answers
    #: exactly as one the server does not have, in every check (docs/security.md, threat model)
    conceal = False

    def check_write(self, grid, what):
        """Raise OutOfScope if ``what`` may not be written in ``grid``."""

    def check_flag(self, grid):
        """Raise OutOfScope if a flag in ``grid`` may not be moved on by this caller."""

    def may_act(self, action, level):
        """Whether this caller may take ``action`` on a flag at ``level`` (sync/casework.py)."""
        return may_act(self.role, action, level)

    def may_raise(self, level):
        """Whether this caller may raise a new flag at ``level`` (only at its own)."""
        return may_raise(self.role, level)

    def may_write(self, grid, what):
        if grid is None:
            return False
        try:
            self.check_write(grid, what)
        except OutOfScope:
            return False
        return True

    def may_move(self, grid):
        if grid is None:
            return False
        try:
            self.check_flag(grid)
        except OutOfScope:
            return False
        return True

    def check_case(self, action, fields, level, trail, grid):
        """Raise a SyncError if what this event names is not for this caller: the server checks
        that an assignee is a colleague at ``level``, a summoned department exists, and that a
        department's staff act only for their own department on cases it is summoned to."""


class SystemPolicy(Policy):
    """The server's own changes (imports, demo data, merges, escalations) may touch any grid."""

    role = "system"
    server = True


SYSTEM = SystemPolicy()


# --- what a batch did ------------------------------------------------------------------------
@dataclass
class Logged:
    """An accepted change, for the change log. ``by_server``: a change the server made in
    consequence of it (a carry-over to a merge survivor), stamped by ``stamp``."""

    change: dict
    fields: dict
    grid: str
    by_server: bool = False


@dataclass
class Outcome:
    results: list = field(default_factory=list)    # per change: {"status", "reason"?, "conflicts"?}
    errors: dict = field(default_factory=dict)     # position in results -> the SyncError that refused it
    visits: list = field(default_factory=list)     # Logged, plus .suggestions in fields_extra
    events: list = field(default_factory=list)     # Logged
    conflicts: list = field(default_factory=list)  # (Logged, Conflict)
    log: list = field(default_factory=list)        # Logged, in order
    refold: set = field(default_factory=set)       # flag ids whose state must be folded again
    moves: list = field(default_factory=list)      # (from household, person id, stamp): persons the server moved
    regridded: list = field(default_factory=list)  # (household id, new grid) after a replayed move
    suggestions: dict = field(default_factory=dict)  # visit id -> the rules' suggestions

    def dirty(self, view, entity):
        return [(rid, rec) for rid, rec in view.records[entity].items() if rec.dirty]


# --- accept: a device's or a person's changes, every rule --------------------------------------
def accept(changes, view, policy, *, checklists=None, rules=None, clock=None, outcome=None, now=None):
    """Apply ``changes`` (``{change_id, entity, entity_id, stamp, fields, base}``, envelopes
    already checked) in order; returns the ``Outcome`` with one result per change. ``clock``:
    the applier's hybrid clock, which observes every accepted stamp and stamps carry-overs;
    ``now``: the applier's present in ms, for dates in the future (default: its wall clock)."""
    out = outcome or Outcome()
    followups = []
    for change in changes:
        result = {}
        out.results.append(result)
        if change["change_id"] in view.applied:
            result["status"] = "already_applied"
            continue
        try:
            if policy.node and node_of(change["stamp"]) != policy.node:
                # The stamp's node breaks ties and tells "my own earlier write" apart.
                raise InvalidChange("stamp was not made by this device's clock (its node must be the device id)",
                                    field="stamp", code="stamp_node_mismatch")
            conflicts = _accept_one(change, view, policy, out, checklists, rules, followups, now)
        except SyncError as exc:
            result.update(status="rejected", reason=exc.as_dict())
            out.errors[len(out.results) - 1] = exc
            continue
        view.applied.add(change["change_id"])
        result["status"] = "merged_with_conflict" if conflicts else "applied"
        if conflicts:
            result["conflicts"] = conflicts
        if clock is not None:
            clock.observe(change["stamp"])
    if followups:
        _carry_over(followups, view, out, checklists, rules, clock, policy)
    return out


def _accept_one(change, view, policy, out, checklists, rules, followups, now=None):
    entity = change["entity"]
    if not policy.server and SERVER_ONLY & change["fields"].keys():
        name = sorted(SERVER_ONLY & change["fields"].keys())[0]
        raise InvalidChange(f"{name} is set only by the server", field=name, code="server_only")
    if entity in RECORDS:
        fields, grid, conflicts = _record(change, view, policy, out, checklists, now)
        if policy.carry_over:
            followups.extend(_after_merges(view, entity, change, fields))
    elif entity == "visit":
        fields = ENTITIES["visit"].clean(change["fields"], creating=True, checklists=checklists, now=now)
        grid, conflicts = _visit(change, fields, view, policy, out, checklists, rules), []
    else:
        fields = ENTITIES["flag_event"].clean(change["fields"], creating=True)
        grid, conflicts = _flag_event(change, fields, view, policy, out), []
    out.log.append(Logged(change, fields, grid, by_server=policy.followup))
    return conflicts


def _household(view, hid, what, policy=None):
    return _reference(view, policy, "household", hid, what, "household_id")


def _reference(view, policy, entity, rid, what, name):
    """The record a change names in ``name``. To a caller the server conceals from, one outside
    their grids is not there: both answer ``out_of_scope`` with the same words."""
    rec = view.records[entity].get(rid)
    if policy is not None and policy.conceal:
        if rec is not None and not _writable(view, policy, entity, rec):
            rec = None
        if rec is None:
            raise OutOfScope(f"{name} names {entity} {rid}, which is not in your grids; if it is new, push it first",
                             field=name)
    if rec is None:
        raise InvalidChange(f"{name if name != 'household_id' else what} names {entity} {rid}, which the server "
                            f"does not have; push the {entity} first", field=name, code="unknown_reference")
    return rec


def _writable(view, policy, entity, rec):
    return policy.may_write(view.grid_of(entity, rec), entity)


def _grid_of(view, policy, entity, fields, existing):
    """The grid the change lands in, checked against the caller's scope; a record cannot move
    across grids by sync."""
    if entity == "household":
        grid = fields.get("grid_id") or existing.values["grid_id"]
        if existing is not None and grid != existing.values["grid_id"]:
            # out of scope first: a record elsewhere is not acknowledged to exist
            policy.check_write(existing.values["grid_id"], "household")
            raise _cross_grid("a household cannot move to another grid by sync")
        _in_scope(policy, grid, "household", "grid_id")
        return grid
    hid = fields.get("household_id") or existing.values["household_id"]
    grid = _household(view, hid, entity, policy).values["grid_id"]
    if existing is not None and hid != existing.values["household_id"]:
        if "household_id" in IMMUTABLE.get(entity, ()):
            policy.check_write(_household(view, existing.values["household_id"], entity).values["grid_id"], entity)
            raise InvalidChange(f"a {entity} cannot move to another household", field="household_id")
        old_grid = _household(view, existing.values["household_id"], entity).values["grid_id"]
        if old_grid != grid:
            policy.check_write(old_grid, entity)
            raise _cross_grid(f"a {entity} cannot move to a household in another grid by sync")
    _in_scope(policy, grid, entity, "household_id")
    person = fields.get("person_id")
    if entity == "flag" and person:
        member = _reference(view, policy, "person", person, entity, "person_id")
        _in_scope(policy, view.grid_of("person", member), "person", "person_id")
        if policy.local and member.values.get("household_id") != hid:
            raise InvalidChange("person_id is not a member of the flag's household", field="person_id")
    return grid


def _in_scope(policy, grid, what, field):
    """``policy.check_write``, its refusal naming the field through which the grid was found."""
    try:
        policy.check_write(grid, what)
    except OutOfScope as exc:
        exc.field = exc.field or field
        raise


def _record(change, view, policy, out, checklists=None, now=None):
    entity, eid = change["entity"], change["entity_id"]
    existing = view.records[entity].get(eid)
    # A record outside the caller's grids is judged as if the server did not have it; only a
    # change that would then create it learns that the id is taken (ids are global).
    hidden = policy.conceal and existing is not None and not _writable(view, policy, entity, existing)
    if hidden:
        existing = None
    if policy.conceal:
        fields = ENTITIES[entity].clean(change["fields"], creating=False, checklists=checklists, now=now)
        missing = [f for f in ENTITIES[entity].required if fields.get(f) is None] if existing is None else ()
        if missing:
            # an edit of a record that is not in the caller's grids, whether it is elsewhere or nowhere
            raise OutOfScope(f"no {entity} with this id in your grids (a new {entity} needs {', '.join(missing)})")
    else:
        fields = ENTITIES[entity].clean(change["fields"], creating=existing is None, checklists=checklists,
                                        now=now)
    grid = _grid_of(view, policy, entity, fields, existing)
    if existing is None and entity == "flag" and not policy.may_raise(fields.get("level") or DEFAULT_LEVEL):
        raise InvalidChange(f"the {policy.role} role may not raise a flag at {fields.get('level')} level; raise it "
                            f"at {DEFAULT_LEVEL} level, and escalate it if it must go higher", field="level",
                            code="not_allowed")
    if hidden:
        raise OutOfScope(f"the {entity} is outside your grids")
    if existing is not None:
        for name in IMMUTABLE.get(entity, ()):
            if name in fields and fields[name] != existing.values.get(name):
                raise InvalidChange(f"a {entity}'s {name} cannot be changed by editing it"
                                    + ("; send a recolour, escalate or route event" if entity == "flag" else ""),
                                    field=name, code="immutable_field")
    else:
        existing = view.records[entity][eid] = Record({}, {}, new=True)
        if entity == "flag":
            view.trails[eid] = Trail(fields.get("level") or DEFAULT_LEVEL)
    changed, conflicts = merge_fields(existing.values, existing.stamps, fields, change["stamp"], change.get("base"))
    if changed or existing.new:
        existing.dirty = True
    existing.grid = grid
    if entity == "flag":
        out.refold.add(eid)
    logged = Logged(change, fields, grid)
    out.conflicts.extend((logged, c) for c in conflicts)
    return fields, grid, [c.field for c in conflicts]


def _visit(change, fields, view, policy, out, checklists, rules):
    eid = change["entity_id"]
    hid = fields["household_id"]
    home = _household(view, hid, "visit", policy)
    grid = home.values["grid_id"]
    _in_scope(policy, grid, "visit", "household_id")
    # after scope: a taken id answers the same wherever the visit holding it lies
    if eid in view.visits:
        raise InvalidChange("this visit is already recorded and visits are never edited; "
                            "send a correction as a new visit with amends_id", code="append_only")
    amends = fields.get("amends_id")
    if amends and view.visits.get(amends) != hid:
        raise InvalidChange("amends_id must name an earlier visit to the same household", field="amends_id",
                            code="unknown_reference")
    # Last, so that what scope conceals answers as before. Judged by the household's stamps, which
    # the device that typed the visit held too (it must hold the household to visit it), so what
    # the device accepted the server accepts (sync/inputs.py). The server's own changes (an
    # import of visits kept on paper, the demo city's history) may date one before the household
    # was registered here.
    if not policy.server:
        inputs.not_before_household("visited_at", fields["visited_at"], inputs.household_born_ms(home.stamps))
    view.visits[eid] = hid
    out.visits.append(Logged(change, fields, grid))
    if rules is not None:
        out.suggestions[eid] = [s.__dict__ for s in rules.evaluate(fields["checks"], checklists.settings)]
    return grid


def _flag_event(change, fields, view, policy, out):
    eid, fid = change["entity_id"], fields["flag_id"]
    flag = view.records["flag"].get(fid)
    if policy.conceal and flag is not None and not policy.may_move(view.grid_of("flag", flag)):
        flag = None
    if flag is None and policy.conceal:
        raise OutOfScope(f"flag_id names flag {fid}, which is not in your area; if it is new, push it first",
                         field="flag_id")
    if flag is None:
        raise InvalidChange("flag_id names a flag the server does not have; push the flag first",
                            field="flag_id", code="unknown_reference")
    grid = view.grid_of("flag", flag)
    policy.check_flag(grid)
    # after scope: a taken id answers the same wherever the event holding it lies
    if eid in view.events:
        raise InvalidChange("this flag event is already recorded; events are never edited", code="append_only")
    trail = view.trails[fid]
    action = fields["action"]
    # Judged at the level its author saw the flag at (a level it really was at); an author who
    # does not say is judged where the flag is now.
    level = fields.get("at_level") or trail.level
    if level not in trail.levels:
        raise InvalidChange(f"at_level {level} is a level this flag has never been at", field="at_level",
                            code="unknown_level")
    if policy.online and ((action in TRANSITIONS and fields["from_state"] != trail.state) or level != trail.level):
        raise Conflicting(f"the flag is {trail.state} at {trail.level} level now, not "
                          f"{fields.get('from_state') or trail.state} at {level}: look again and act on it as it is",
                          field="from_state", code="stale_state")
    if not policy.may_act(action, level):
        raise InvalidChange(f"the {policy.role} role may not {action} a flag at {level} level",
                            field="action", code="not_allowed")
    policy.check_case(action, fields, level, trail, grid)
    if action in SUMMONS_STEPS or action == "close":
        # 部门报到: each department's steps in order; a case closes once every summoned
        # department has answered or been released
        why = summons_refusal(action, fields.get("department_id"), trail.summons)
        if why and action == "close":
            raise InvalidChange(why, field="action", code="summons_open")
        if why:
            raise InvalidChange(why, field="department_id", code="summons_state")
    if action in ("escalate", "route"):
        up = LEVELS.index(fields["level"]) - LEVELS.index(level)
        if up <= 0 if action == "escalate" else up == 0:
            raise InvalidChange(f"{action} must move the flag {'up from' if action == 'escalate' else 'away from'} "
                                f"{level} level", field="level", code="level_not_moved")
    visit = fields.get("visit_id")
    if visit and view.visits.get(visit) != flag.values["household_id"]:
        raise InvalidChange("visit_id must name a visit to the flag's household", field="visit_id",
                            code="unknown_reference")
    if action in TRANSITIONS:
        # A device may act on an out-of-date view, but only on a state the flag has been in:
        # no one can close a case that was never verified by claiming it was.
        if fields["from_state"] not in trail.states:
            raise InvalidChange(f"from_state {fields['from_state']} is a state this flag has never been in",
                                field="from_state", code="unknown_state")
        trail.state = TRANSITIONS[action][1]
        trail.states.add(trail.state)
    if action in ("escalate", "route"):
        trail.level = fields["level"]
        trail.levels.add(fields["level"])
    if action in SUMMONS_STEPS:
        trail.step_summons(action, fields["department_id"])
    view.events.add(eid)
    out.refold.add(fid)
    out.events.append(Logged(change, fields, grid))
    return grid


# --- merged-away copies ------------------------------------------------------------------------
def _after_merges(view, entity, change, fields):
    """A device that has not heard of a merge yet still writes to the merged-away copy. Its
    change is applied as sent (so its replica and the server's stay equal), and the server
    follows it with its own change: an edit is carried over to the survivor with the device's
    own stamp, so the merge never changes which of two edits wins (a delete is not carried:
    deleting "the duplicate" must not delete the person); and a person put in a merged-away
    household is moved to the surviving one, a decision the server takes now, on top of that
    write. Returns ``(entity, id, fields, stamp or None, base, change id)``."""
    eid = change["entity_id"]
    rec = view.records[entity][eid]
    out = []
    if rec.values.get("merged_into"):
        carried = {k: v for k, v in fields.items() if k not in NOT_CARRIED}
        survivor = view.survivor(entity, eid)
        if carried and survivor != eid:
            out.append((entity, survivor, carried, change["stamp"], None,
                        uuid.uuid5(_CARRY, f"{change['change_id']}:{survivor}")))
    if entity == "person":
        home = view.records["household"].get(rec.values["household_id"])
        if home is not None and home.values.get("merged_into"):
            out.append(("person", eid, {"household_id": view.survivor("household", rec.values["household_id"])},
                        None, {"household_id": rec.stamps.get("household_id")},
                        uuid.uuid5(_CARRY, f"{change['change_id']}:move")))
    return out


#: carry-over change ids come from the change that caused them, so a retried batch makes the same
_CARRY = uuid.UUID("1f0b6a52-3c1e-4b7e-9d0a-8a2f6c4e5d31")


def _carry_over(followups, view, out, checklists, rules, clock, policy):
    changes = []
    for entity, rid, fields, stamp, base, change_id in followups:
        moved = stamp is None
        change = make_change(entity, rid, fields, stamp or clock.now(), base=base, change_id=change_id)
        changes.append(change)
        if moved:
            out.moves.append((view.records["person"][rid].values["household_id"], rid, change["stamp"]))
    start = len(out.results)
    accept(changes, view, OnBehalf(policy), checklists=checklists, rules=rules, outcome=out)
    # carry-overs have no result slot of their own: they belong to the change that caused them
    for position in range(start, len(out.results)):
        out.errors.pop(position, None)
    del out.results[start:]


class OnBehalf(Policy):
    """The server's change following a device's edit of a merged-away copy, made with the rights
    of the person whose change caused it: it may write only where they may (a survivor in a grid
    they do not hold is not written; their edit stays on the copy, as sent), and never a
    server-only field. Logged as the server's own."""

    followup = True

    def __init__(self, causer):
        self.causer, self.role, self.conceal = causer, causer.role, causer.conceal

    def check_write(self, grid, what):
        self.causer.check_write(grid, what)

    def check_flag(self, grid):
        self.causer.check_flag(grid)

    def may_act(self, action, level):
        return self.causer.may_act(action, level)

    def may_raise(self, level):
        return self.causer.may_raise(level)


# --- replay: what a server already accepted ----------------------------------------------------
def replay(changes, view):
    """Apply changes the server accepted (a pulled page) with the merge rules alone: records
    field by field, visits and flag events if absent. Any order, any repetition, same result."""
    out = Outcome()
    before = {hid: rec.values.get("grid_id") for hid, rec in view.records["household"].items()}
    for change in changes:
        entity, eid, f = change["entity"], change["entity_id"], change["fields"]
        if entity in RECORDS:
            rec = view.records[entity].get(eid)
            if rec is None:
                rec = view.records[entity][eid] = Record({}, {}, new=True)
            changed, _ = merge_fields(rec.values, rec.stamps, f, change["stamp"], change.get("base"))
            # Conflicts are recorded by the server, the one place every device's writes meet.
            if changed or rec.new:
                rec.dirty = True
            if entity == "flag":
                out.refold.add(eid)
        elif entity == "visit":
            if eid not in view.visits:
                view.visits[eid] = f["household_id"]
                out.visits.append(Logged(change, f, None))
        elif entity == "flag_event":
            if eid not in view.events:
                view.events.add(eid)
                out.events.append(Logged(change, f, None))
                out.refold.add(f["flag_id"])
    for entity in RECORDS:
        for rid, rec in view.records[entity].items():
            if rec.dirty:
                rec.grid = view.grid_of(entity, rec)
    for hid, rec in view.records["household"].items():
        if rec.dirty and before.get(hid) is not None and before[hid] != rec.grid:
            out.regridded.append((hid, rec.grid))
    for logged in out.visits:
        home = view.records["household"].get(logged.fields["household_id"])
        logged.grid = home.values.get("grid_id") if home else None
    for logged in out.events:
        flag = view.records["flag"].get(logged.fields["flag_id"])
        logged.grid = view.grid_of("flag", flag) if flag else None
    return out


def _cross_grid(message):
    # Devices pull by grid: a record moved across grids by a bare edit would reach the new grid's
    # devices with no history. A family that moves is moved by the server, which re-sends its
    # history to the new grid (POST /households/<id>/move, server/services/moves.py).
    return InvalidChange(message + "; a family that moved is moved with POST /api/v1/households/<id>/move "
                         "by someone who may write both grids", field="grid_id", code="cross_grid_move")

