// The six-check visit (六查), rendered from the checklist version the city has: a status per
// item, each question as its type asks, rows (one per child), and the city's rules run as the
// worker answers, so a red warning shows at the door and its flag is raised with the visit.
import { CHECK_KEYS } from "../core/checklist.js";
import { label, t } from "../i18n/index.js";
import { errDetail, field, go, h, input, message, select, show } from "./ui.js";

function answerInput(name, spec, members) {
  const opt = (o) => [o, label("opt", o)];
  switch (spec.type) {
    case "number": return input(name, { type: "number", step: "any", inputmode: "decimal" });
    case "integer": return input(name, { type: "number", step: "1", inputmode: "numeric" });
    case "boolean": return select(name, [["true", t("answer_yes")], ["false", t("answer_no")]]);
    case "choice": return select(name, spec.options.map(opt));
    case "text": return name.endsWith(".person_id") && members.length
      ? select(name, members.map((m) => [m.id, m.name])) : input(name, { maxlength: 2000 });
    default: return input(name);
  }
}

function readAnswer(spec, raw) {
  if (raw === undefined || raw === "") return null;
  if (spec.type === "number") return Number(raw);
  if (spec.type === "integer") return Number.isInteger(Number(raw)) ? Number(raw) : Number(raw);
  if (spec.type === "boolean") return raw === "true";
  return raw;
}

function rowsWidget(key, q, spec, members) {
  const body = h("div", { class: "rows", id: `rows-${key}-${q}` });
  const add = () => {
    const i = body.children.length;
    body.append(h("div", { class: "rowitem" },
      Object.entries(spec.fields).map(([f, fs]) => field(`${key}.${q}.${i}.${f}`, label("field", f),
        answerInput(`${key}.${q}.${i}.${f}`, fs, members))),
      h("button", { type: "button", class: "small", onclick: (e) => { e.target.closest(".rowitem").remove(); } }, t("remove_row"))));
  };
  return h("div", {}, body, h("button", { type: "button", class: "small add-row", id: `add-row-${key}-${q}`, onclick: add }, t("add_row")));
}

function readChecks(form, items) {
  const checks = {};
  const data = new FormData(form);
  for (const key of CHECK_KEYS) {
    const item = items[key];
    const answers = {};
    for (const [q, spec] of Object.entries(item.questions)) {
      if (spec.type === "rows") {
        const rows = [];
        form.querySelectorAll(`#rows-${key}-${q} .rowitem`).forEach((rowEl) => {
          const row = {};
          rowEl.querySelectorAll("input, select").forEach((el) => {
            const f = el.name.split(".").pop();
            const v = readAnswer(spec.fields[f], el.value);
            if (v !== null) row[f] = v;
          });
          rows.push(row);
        });
        if (rows.length) answers[q] = rows;
      } else {
        const v = readAnswer(spec, data.get(`${key}.${q}`));
        if (v !== null) answers[q] = v;
      }
    }
    const note = (data.get(`${key}.note`) || "").trim();
    checks[key] = { status: data.get(`${key}.status`) || "ok", answers, ...(note ? { note } : {}) };
  }
  return checks;
}

export function visitView(app, hid) {
  const cl = app.checklists();
  if (!cl) return show(message(t("err.no_config"), "error"));
  const items = cl.versions.get(cl.latest);
  const members = app.replica.persons(hid);
  const form = h("form", { id: "visit", class: "card" },
    h("h1", {}, t("new_visit")),
    h("p", { class: "hint" }, t("checklist_version", { v: cl.latest })),
    CHECK_KEYS.map((key) => {
      const item = items[key];
      return h("fieldset", { class: "check", id: `check-${key}` },
        h("legend", {}, item.phrase, h("small", {}, label("check", key))),
        h("div", { class: "statuses", role: "radiogroup" }, ["ok", "concern", "urgent"].map((s) => h("label", { class: `status ${s}` },
          h("input", { type: "radio", name: `${key}.status`, value: s, checked: s === "ok" }), label("status", s)))),
        Object.entries(item.questions).map(([q, spec]) => (spec.type === "rows"
          ? field(`${key}.${q}`, spec.label || q, rowsWidget(key, q, spec, members))
          : field(`${key}.${q}`, spec.label || q, answerInput(`${key}.${q}`, spec, members)))),
        field(`${key}.note`, t("note"), input(`${key}.note`, { maxlength: 2000 })));
    }),
    field("note", t("note"), h("textarea", { name: "note", maxlength: 2000 })),
    h("div", { id: "suggestions", "aria-live": "polite" }),
    h("div", { id: "visit-msg" }),
    h("button", { type: "submit", class: "primary", id: "save-visit" }, t("save")));
  const refresh = () => {
    const suggestions = app.suggestions(readChecks(form, items));
    const box = document.getElementById("suggestions");
    const checked = new Set([...box.querySelectorAll("input:checked")].map((el) => el.value));
    const seen = new Set(box.querySelectorAll("input").length ? [...box.querySelectorAll("input")].map((el) => el.value) : []);
    box.replaceChildren(suggestions.length ? h("div", { class: `msg warn ${suggestions[0].colour}` },
      h("b", {}, t("warning_from_rules")),
      suggestions.map((s) => h("label", { class: "suggestion" },
        h("input", { type: "checkbox", name: "raise", value: s.rule_id,
          checked: seen.has(s.rule_id) ? checked.has(s.rule_id) : s.colour === "red" }),
        h("span", { class: `badge ${s.colour}` }, label("category", s.category)), " ", s.reason))) : "");
  };
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  form.addEventListener("click", (e) => { if (e.target.closest(".add-row, .rowitem button")) setTimeout(refresh); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const checks = readChecks(form, items);
    const note = (new FormData(form).get("note") || "").trim() || null;
    const raise = new Set(new FormData(form).getAll("raise"));
    try {
      await app.recordVisit(hid, checks, note);
      const raised = new Set();
      for (const s of app.suggestions(checks)) {
        if (raise.has(s.rule_id) && !raised.has(s.category)) {
          raised.add(s.category);
          await app.raiseFlag(hid, { category: s.category, colour: s.colour, note: s.reason });
        }
      }
      go(`#/household/${hid}`);
    } catch (err) {
      document.getElementById("visit-msg").replaceChildren(message(errDetail(err), "error"));
    }
  });
  show(form);
}
