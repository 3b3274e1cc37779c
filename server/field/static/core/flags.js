// The flag lifecycle (sync/flags.py) and who may move a flag at which level (sync/casework.py).
// A flag's state, level and colour are folded from its event log in stamp order, so a stale
// transition synced late never undoes a later one.
export const STATES = ["reported", "confirmed", "in_progress", "resolved", "verified", "closed", "rejected"];
export const LEVELS = ["community", "street", "district", "bureau"];
export const DEFAULT_LEVEL = LEVELS[0];
export const COLOURS = ["red", "yellow", "green"];
export const OPEN_STATES = ["reported", "confirmed", "in_progress"];
export const ACTIVE_STATES = [...OPEN_STATES, "resolved", "verified"];

/** action -> [states it may start from, state it leads to] */
export const TRANSITIONS = {
  confirm: [["reported"], "confirmed"],
  start: [["confirmed"], "in_progress"],
  resolve: [["in_progress"], "resolved"],
  verify: [["resolved"], "verified"],
  close: [["verified"], "closed"],
  reject: [["reported", "confirmed"], "rejected"],
  reopen: [["resolved", "verified", "closed", "rejected"], "reported"],
};
export const OTHER_ACTIONS = ["escalate", "route", "recolour", "note"];
/** naming the person at the flag's level who holds it (承办人) */
export const ASSIGN = "assign";
/** departments summoned to a case (街乡吹哨、部门报到); each names the department */
export const DEPARTMENT_ACTIONS = ["summon", "report_in", "answer", "release"];
export const ACTIONS = [...Object.keys(TRANSITIONS), ...OTHER_ACTIONS, ASSIGN, ...DEPARTMENT_ACTIONS];
/** a summons's state after each department action, and the states each may start from (null: none yet) */
export const SUMMONS_STEPS = {
  summon: [[null, "answered", "released"], "summoned"],
  report_in: [["summoned"], "reported_in"],
  answer: [["reported_in"], "answered"],
  release: [["summoned", "reported_in"], "released"],
};
/** summons a case cannot be closed with */
export const OPEN_SUMMONS = ["summoned", "reported_in"];

const LEVEL_ROLE = { community: "community", street: "street", district: "district", bureau: "bureau" };
const FIELD_ACTIONS = {
  grid_worker: ["verify", "note"],
  community: ["resolve", "verify", "reopen", "note", "start"],
};

class InvalidChange extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
    this.code = "invalid_change";
  }
}

/** Check the shape of one flag event; throws an error with {message, field, code}. */
export function checkEvent(fields) {
  const action = fields.action;
  if (action in TRANSITIONS) {
    const [allowed] = TRANSITIONS[action];
    const frm = fields.from_state ?? null;
    if (frm === null) throw new InvalidChange(`a ${action} event must say the state it was made from`, "from_state");
    if (!allowed.includes(frm)) throw new InvalidChange(`cannot ${action} a flag that is ${frm}`, "action");
    if (action === "verify" && !fields.visit_id) {
      throw new InvalidChange("verify needs the follow-up visit (visit_id)", "visit_id");
    }
  } else if (action === "escalate" || action === "route") {
    if (!LEVELS.includes(fields.level)) throw new InvalidChange(`${action} needs a level: one of ${LEVELS.join(", ")}`, "level");
  } else if (action === "recolour") {
    if (!COLOURS.includes(fields.colour)) {
      throw new InvalidChange(`recolour needs a colour: one of ${COLOURS.join(", ")}`, "colour");
    }
  } else if (action === ASSIGN) {
    if (!fields.assignee_id) throw new InvalidChange("assign needs the person who will hold the case (assignee_id)", "assignee_id");
  } else if (DEPARTMENT_ACTIONS.includes(action)) {
    if (!fields.department_id) throw new InvalidChange(`${action} needs the department (department_id)`, "department_id");
    if ((action === "summon" || action === "answer") && !fields.note) {
      const what = action === "summon" ? "the request to the department" : "what the department did";
      throw new InvalidChange(`${action} needs a note: ${what}`, "note");
    }
  }
  return fields;
}

/** Fold events ({id, stamp, action, ...}) into {state, level, colour, state_stamp, concurrent,
 * holder, summons}: holder the person last assigned at the current level (null once the flag
 * moved on), summons each summoned department's state. Unknown actions change nothing. */
export function foldFlag(initialColour, initialLevel, events) {
  let state = "reported", level = initialLevel || DEFAULT_LEVEL, colour = initialColour, stateStamp = null;
  let holder = null;
  const ordered = [...events].sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
  const transitions = [], elsewhere = [];
  for (const ev of ordered) {
    const action = ev.action;
    if (ev.at_level && ev.at_level !== level) elsewhere.push(ev.id ?? null);
    if (action in TRANSITIONS) {
      transitions.push(ev);
      state = TRANSITIONS[action][1];
      stateStamp = ev.stamp;
    } else if (action === "escalate" || action === "route") {
      if (ev.level !== level) holder = null; // a holder is a person at the level the flag has left
      level = ev.level;
    } else if (action === "recolour") colour = ev.colour;
    else if (action === ASSIGN && (!ev.at_level || ev.at_level === level)) holder = ev.assignee_id ?? null;
  }
  const off = offThePath(transitions);
  return { state, level, colour, state_stamp: stateStamp,
    concurrent: [...off, ...elsewhere.filter((i) => !off.includes(i))], holder, summons: foldSummons(ordered) };
}

/** {department id: state} from a flag's department events in stamp order; a step the state does
 * not allow (a late copy) changes nothing; an answered or released department may be summoned again. */
export function foldSummons(events) {
  const out = {};
  for (const ev of events) {
    const step = Object.hasOwn(SUMMONS_STEPS, ev.action) ? SUMMONS_STEPS[ev.action] : null;
    const dept = ev.department_id;
    if (!step || !dept) continue;
    if (step[0].includes(Object.hasOwn(out, dept) ? out[dept] : null)) out[dept] = step[1];
  }
  return out;
}

function offThePath(transitions) {
  const onPath = new Set();
  let expected = null;
  for (let i = transitions.length - 1; i >= 0; i--) {
    const ev = transitions[i];
    if (expected === null || TRANSITIONS[ev.action][1] === expected) {
      onPath.add(i);
      expected = ev.from_state ?? null;
    }
  }
  return transitions.filter((_, i) => !onPath.has(i)).map((ev) => ev.id ?? null);
}

/** the level each raiser raises a flag at: the community answers for its grids first */
const RAISE_LEVEL = { grid_worker: "community", community: "community" };
/** the levels whose staff may summon departments (街乡吹哨: the street and above) */
const SUMMON_LEVELS = ["street", "district", "bureau"];
/** what only a summoned department's staff do, and all they do besides notes */
const DEPARTMENT_ONLY = ["report_in", "answer"];
export const DEPARTMENT_ROLE = "department";

/** Whether `role` may take `action` on a flag now at `level` (sync/casework.py may_act). */
export function mayAct(role, action, level) {
  if (role === "system") return true;
  if (role === DEPARTMENT_ROLE) return DEPARTMENT_ONLY.includes(action) || action === "note";
  if (DEPARTMENT_ONLY.includes(action)) return false;
  if ((action === "summon" || action === "release") && !SUMMON_LEVELS.includes(level)) return false;
  if (Object.hasOwn(LEVEL_ROLE, level) && LEVEL_ROLE[level] === role && action !== "verify") return true;
  return Object.hasOwn(FIELD_ACTIONS, role) && FIELD_ACTIONS[role].includes(action);
}

/** Whether `role` may raise a new flag at `level`: only at its own level. */
export function mayRaise(role, level) {
  return role === "system" || (Object.hasOwn(RAISE_LEVEL, role) && RAISE_LEVEL[role] === level);
}

/** Why a department event or a close cannot be taken with the case's `summons`, or null when it can. */
export function summonsRefusal(action, departmentId, summons) {
  if (action === "close") {
    const waiting = Object.entries(summons).filter(([, st]) => OPEN_SUMMONS.includes(st));
    return waiting.length ? `${waiting.length} summoned department(s) have not answered or been released` : null;
  }
  if (!Object.hasOwn(SUMMONS_STEPS, action)) return null;
  const now = Object.hasOwn(summons, departmentId) ? summons[departmentId] : null;
  if (!SUMMONS_STEPS[action][0].includes(now)) {
    return now ? `cannot ${action}: the department is ${now.replaceAll("_", " ")}`
      : `cannot ${action}: the department was never summoned to this case`;
  }
  return null;
}

/** The transitions a person in `role` can offer on a flag (buttons on a screen); a close waits
 * for every summoned department (`summons`) to answer or be released. */
export function allowedActions(role, state, level, summons = null) {
  return Object.entries(TRANSITIONS).filter(([a, [starts]]) => starts.includes(state) && mayAct(role, a, level)
    && !(a === "close" && summons && Object.keys(summons).length && summonsRefusal("close", null, summons)))
    .map(([a]) => a);
}

export const DEFAULT_REVISIT_DAYS = { red: 3, yellow: 14, green: 30 };
