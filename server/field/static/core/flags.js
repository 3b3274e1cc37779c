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
export const ACTIONS = [...Object.keys(TRANSITIONS), ...OTHER_ACTIONS];

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
  }
  return fields;
}

/** Fold events ({id, stamp, action, ...}) into {state, level, colour, state_stamp, concurrent}. */
export function foldFlag(initialColour, initialLevel, events) {
  let state = "reported", level = initialLevel || DEFAULT_LEVEL, colour = initialColour, stateStamp = null;
  const ordered = [...events].sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
  const transitions = [], elsewhere = [];
  for (const ev of ordered) {
    const action = ev.action;
    if (ev.at_level && ev.at_level !== level) elsewhere.push(ev.id ?? null);
    if (action in TRANSITIONS) {
      transitions.push(ev);
      state = TRANSITIONS[action][1];
      stateStamp = ev.stamp;
    } else if (action === "escalate" || action === "route") level = ev.level;
    else if (action === "recolour") colour = ev.colour;
  }
  const off = offThePath(transitions);
  return { state, level, colour, state_stamp: stateStamp,
    concurrent: [...off, ...elsewhere.filter((i) => !off.includes(i))] };
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

/** Whether `role` may take `action` on a flag now at `level`. */
export function mayAct(role, action, level) {
  if (role === "system") return true;
  if (LEVEL_ROLE[level] === role && action !== "verify") return true;
  return (FIELD_ACTIONS[role] || []).includes(action);
}

/** The transitions a person in `role` can offer on a flag (buttons on a screen). */
export function allowedActions(role, state, level) {
  return Object.entries(TRANSITIONS).filter(([a, [starts]]) => starts.includes(state) && mayAct(role, a, level))
    .map(([a]) => a);
}

export const DEFAULT_REVISIT_DAYS = { red: 3, yellow: 14, green: 30 };
