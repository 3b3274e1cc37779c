// The worker's screens: log in, my grids, households and search, a household with its members,
// visits and open flags, entering a household or person once, the six-check visit rendered from
// the checklist version, the warning at the door, flags, due visits, and the sync bar on every
// screen. Hash routes (#/household/<id>), so every screen works offline from the cached shell.
import { CHECK_KEYS } from "../core/checklist.js";
import { allowedActions, COLOURS } from "../core/flags.js";
import { categories } from "../core/inputs.js";
import { RELATIONS, GENDERS } from "../core/entities.js";
import { maskIdNumber } from "../core/identity.js";
import { chooseLanguage, initLanguage, label, language, t, TABLES } from "../i18n/index.js";
import { FieldApp } from "./field.js";
import { door, errDetail, errText, field, flagBadge, formValues, go, h, input, message, select, show, when } from "./ui.js";
import { visitView } from "./visit.js";

let app;

// --- the sync bar, on every screen -----------------------------------------------------------
function renderBar() {
  const s = app.status();
  const bar = document.getElementById("syncbar");
  const err = s.lastError;
  bar.replaceChildren(...[
    h("span", { id: "net", class: s.online ? "on" : "off" }, s.online ? t("online") : t("offline")),
    h("a", { id: "pending", href: "#/sync" }, s.pending ? t("pending", { n: s.pending }) : t("nothing_pending")),
    s.refused ? h("a", { id: "refused-count", class: "warn", href: "#/sync" }, t("refused_count", { n: s.refused })) : null,
    h("span", { id: "last-sync" }, s.lastSync ? t("last_sync", { when: when(s.lastSync) }) : t("never_synced")),
    h("button", { id: "sync-now", type: "button", disabled: s.syncing || !s.online, onclick: doSync },
      s.syncing ? t("syncing") : t("sync_now")),
    err ? h("div", { id: "sync-error", class: "msg error" }, t("sync_failed", { why: errText(err) })) : null,
  ].filter(Boolean));
}

async function doSync() {
  if (!app.tokenValid()) {
    await app.sync();        // records why (expired, or never logged in); the outbox stays
    return go("#/login");
  }
  const pending = app.sync();
  renderBar();
  await pending;
  renderBar();
  route();
}

// --- screens ---------------------------------------------------------------------------------
function loginView() {
  const form = h("form", { id: "login", class: "card" },
    h("h1", {}, t("login_title")),
    h("p", { class: "hint" }, t("login_hint")),
    field("username", t("username"), input("username", { autocomplete: "username", required: true })),
    field("password", t("password"), input("password", { type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit", class: "primary" }, t("login")),
    h("div", { id: "login-msg" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    try {
      await app.login(v.username, v.password);
      go("#/");
      await doSync();
    } catch (err) {
      document.getElementById("login-msg").replaceChildren(message(errText(err), "error"));
    }
  });
  show(form);
}

function homeView() {
  const w = app.worker;
  const due = app.replica.dueVisits();
  const open = app.replica.flags({ open: true });
  show(
    h("section", { class: "card" },
      h("h1", {}, t("my_grids")),
      h("p", { class: "who" }, t("logged_in_as", { name: w.display_name || w.username, role: label("role", w.role) })),
      h("ul", { id: "grids", class: "list" }, app.grids().map((g) => h("li", {},
        h("a", { href: `#/households?grid=${g.id}` }, g.name || `${t("grid")} ${g.id.slice(0, 8)}`,
          h("small", {}, t("grid_households", { n: app.replica.households({ gridId: g.id }).length }))))))),
    h("section", { class: "card tiles" },
      h("a", { id: "tile-due", class: "tile", href: "#/due" }, t("due_today", { n: new Set(due.map((d) => d.household_id)).size })),
      h("a", { id: "tile-flags", class: "tile", href: "#/flags" }, t("open_flags", { n: open.length })),
      h("a", { class: "tile", href: "#/households" }, t("nav_households")),
      h("a", { class: "tile", href: "#/new-household" }, t("new_household"))));
}

function householdsView(params) {
  const grid = params.get("grid");
  const q = params.get("q") || "";
  const list = app.search(q, grid);
  const form = h("form", { id: "search", class: "search", role: "search" },
    input("q", { type: "search", value: q, placeholder: t("search_placeholder"), "aria-label": t("search") }),
    h("button", { type: "submit" }, t("search")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (grid) next.set("grid", grid);
    next.set("q", formValues(form).q || "");
    go(`#/households?${next}`);
  });
  show(
    h("section", { class: "card" },
      h("h1", {}, t("nav_households")),
      form,
      h("a", { class: "button", id: "add-household", href: `#/new-household${grid ? `?grid=${grid}` : ""}` }, t("new_household")),
      list.length ? h("ul", { id: "households", class: "list" }, list.map((hh) => {
        const flags = app.replica.flags({ householdId: hh.id, open: true });
        return h("li", {}, h("a", { href: `#/household/${hh.id}` },
          h("b", {}, door(hh)), h("small", {}, hh.head_name || ""),
          flags.map((f) => h("span", { class: `dot ${f.colour}`, title: label("category", f.category) }))));
      })) : h("p", { class: "empty" }, t("no_households"))));
}

function newHouseholdView(params) {
  const grids = app.grids();
  const form = h("form", { id: "new-household", class: "card" },
    h("h1", {}, t("new_household")),
    field("grid_id", t("grid"), select("grid_id", grids.map((g) => [g.id, g.name || g.id.slice(0, 8)]),
      { value: params.get("grid") || grids[0]?.id, blank: false })),
    field("address", t("required_field", { label: t("address") }), input("address", { required: true, maxlength: 200 })),
    h("div", { class: "row3" },
      field("building", t("building"), input("building", { maxlength: 32 })),
      field("unit", t("unit"), input("unit", { maxlength: 32 })),
      field("room", t("room"), input("room", { maxlength: 32 }))),
    field("head_name", t("head_name"), input("head_name", { maxlength: 64 })),
    field("phone", t("phone"), input("phone", { type: "tel", maxlength: 32 })),
    field("note", t("note"), h("textarea", { name: "note", maxlength: 2000 })),
    h("div", { id: "matches" }),
    h("button", { type: "submit", class: "primary" }, t("save")));
  matchBeforeSave(form, {
    find: (v) => app.sameHousehold(v),
    heading: "same_household",
    item: (m) => h("a", { href: `#/household/${m.id}` }, door(m), " ", m.head_name || ""),
    save: async (v) => go(`#/household/${await app.createHousehold(v)}`),
  });
  show(form);
}

/** Enter once: on submit, look for the same one first and show the candidates with "save
 * anyway"; otherwise save, and show a refusal in the form. */
function matchBeforeSave(form, { find, heading, item, save }) {
  let force = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const same = force ? [] : find(v);
    const matches = document.getElementById("matches");
    if (same.length) {
      matches.replaceChildren(h("div", { class: "msg warn" }, t(heading),
        h("ul", { class: "list" }, same.map((m) => h("li", {}, item(m)))),
        h("button", { type: "button", id: "save-anyway", onclick: () => { force = true; form.requestSubmit(); } }, t("save_anyway"))));
      return;
    }
    try {
      await save(v);
    } catch (err) {
      matches.replaceChildren(message(errDetail(err), "error"));
    }
  });
}

function householdView(id) {
  const hid = app.replica.survivor("household", id);
  const rec = app.replica.records.household.get(hid);
  if (!rec) return show(message(t("no_households"), "error"));
  const hh = { id: hid, ...rec.values };
  const persons = app.replica.persons(hid);
  const visits = app.replica.visitsOf(hid);
  const warning = app.doorWarning(hid);
  const openFlags = warning.flags;
  show(
    h("section", { class: "card" },
      h("h1", { id: "household-title" }, door(hh)),
      h("p", {}, hh.head_name ? t("labelled", { label: t("head_name"), value: hh.head_name }) : "",
        hh.phone ? ` · ${t("labelled", { label: t("phone"), value: hh.phone })}` : ""),
      (warning.suggestions.length || openFlags.length) ? h("div", { id: "door-warning", class: "msg warn" },
        h("b", {}, t("door_warning")),
        openFlags.map((f) => h("div", {}, flagBadge(f), " ", t("flag_at", { level: label("level", f.level), state: label("state", f.state) }))),
        warning.suggestions.length ? h("div", {}, t("warning_from_rules"),
          warning.suggestions.map((s) => h("span", { class: `badge ${s.colour}` }, label("category", s.category)))) : null) : null,
      h("div", { class: "actions" },
        h("a", { class: "button primary", id: "start-visit", href: `#/household/${hid}/visit` }, t("new_visit")),
        h("a", { class: "button", id: "add-person", href: `#/household/${hid}/person` }, t("add_person")),
        h("a", { class: "button", id: "raise-flag", href: `#/household/${hid}/flag` }, t("raise_flag")),
        h("a", { class: "button", id: "edit-household", href: `#/household/${hid}/edit` }, t("edit")))),
    h("section", { class: "card" }, h("h2", {}, t("members")),
      h("ul", { id: "members", class: "list" }, persons.map((p) => h("li", { class: "person" },
        h("strong", {}, p.name), " ", label("relation", p.relation), " ", label("gender", p.gender), " ", p.birth_date || "",
        p.id_number ? h("small", {}, maskIdNumber(p.id_number)) : null)))),
    h("section", { class: "card" }, h("h2", {}, t("flags")),
      openFlags.length ? h("ul", { id: "household-flags", class: "list" }, openFlags.map((f) => h("li", {},
        h("a", { href: `#/flag/${f.id}` }, flagBadge(f), " ", label("state", f.state))))) : h("p", { class: "empty" }, t("no_flags"))),
    h("section", { class: "card" }, h("h2", {}, t("visits")),
      visits.length ? h("ul", { id: "visits", class: "list" }, visits.map((v) => h("li", {},
        h("b", {}, t("visit_of", { when: when(v.visited_at) })), " ",
        CHECK_KEYS.map((k) => h("span", { class: `st ${v.checks?.[k]?.status}` },
          t("check_status", { check: label("check", k), status: label("status", v.checks?.[k]?.status) }))),
        v.note ? h("small", {}, v.note) : null))) : h("p", { class: "empty" }, t("no_visits"))));
}

const HOUSEHOLD_FIELDS = ["address", "building", "unit", "room", "head_name", "phone", "note"];

function editHouseholdView(hid) {
  const rec = app.replica.records.household.get(hid);
  if (!rec) return show(message(t("no_households"), "error"));
  const v0 = rec.values;
  const form = h("form", { id: "edit-household-form", class: "card" },
    h("h1", {}, t("edit")),
    HOUSEHOLD_FIELDS.map((f) => field(f, t(f), f === "note"
      ? h("textarea", { name: f, id: `f-${f}`, maxlength: 2000 }, v0[f] || "")
      : input(f, { value: v0[f] || "", required: f === "address" }))),
    h("div", { id: "edit-msg" }),
    h("button", { type: "submit", class: "primary" }, t("save")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    // only what the worker changed: the base of each field is the stamp the device held for it
    const changed = Object.fromEntries(HOUSEHOLD_FIELDS.filter((f) => (v[f] || "") !== (v0[f] || ""))
      .map((f) => [f, v[f] || null]));
    try {
      if (Object.keys(changed).length) await app.updateRecord("household", hid, changed);
      go(`#/household/${hid}`);
    } catch (err) {
      document.getElementById("edit-msg").replaceChildren(message(errDetail(err), "error"));
    }
  });
  show(form);
}

function newPersonView(hid) {
  const form = h("form", { id: "new-person", class: "card" },
    h("h1", {}, t("add_person")),
    field("name", t("required_field", { label: t("name") }), input("name", { required: true, maxlength: 64 })),
    field("relation", t("relation"), select("relation", RELATIONS.map((r) => [r, label("relation", r)]))),
    field("gender", t("gender"), select("gender", GENDERS.map((g) => [g, label("gender", g)]))),
    field("birth_date", t("birth_date"), input("birth_date", { type: "date" })),
    field("id_number", t("id_number"), input("id_number", { maxlength: 32, autocomplete: "off" })),
    field("phone", t("phone"), input("phone", { type: "tel", maxlength: 32 })),
    field("note", t("note"), h("textarea", { name: "note", maxlength: 2000 })),
    h("div", { id: "matches" }),
    h("button", { type: "submit", class: "primary" }, t("save")));
  matchBeforeSave(form, {
    find: (v) => app.samePerson(v),
    heading: "same_person",
    item: (m) => h("a", { href: `#/household/${m.household_id}` }, m.name),
    save: async (v) => { await app.addPerson(hid, v); go(`#/household/${hid}`); },
  });
  show(form);
}

function newFlagView(hid) {
  const members = app.replica.persons(hid);
  // the city's categories (sync/inputs.py: the common ones and its settings' own), and its rules' if it names them
  const known = categories(app.checklists()?.settings);
  const cats = [...new Set([...Object.keys(known), ...(app.rules()?.compiled || []).map((c) => c.suggestion.category)])]
    .filter((c) => Object.hasOwn(known, c) || Object.values(known).includes(c));
  const form = h("form", { id: "new-flag", class: "card" },
    h("h1", {}, t("raise_flag")),
    field("category", t("category"), select("category", cats.map((c) => [c, label("category", c) === c && Object.hasOwn(known, c) ? known[c] : label("category", c)]), { blank: false })),
    h("div", { class: "statuses", role: "radiogroup" }, COLOURS.map((c) => h("label", { class: `status ${c}` },
      h("input", { type: "radio", name: "colour", value: c, checked: c === "yellow" }), label("colour", c)))),
    field("person_id", t("person"), select("person_id", members.map((m) => [m.id, m.name]), { blank: true })),
    field("note", t("note"), h("textarea", { name: "note", maxlength: 2000 })),
    h("div", { id: "flag-msg" }),
    h("button", { type: "submit", class: "primary" }, t("save")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    try {
      await app.raiseFlag(hid, { category: v.category, colour: v.colour, personId: v.person_id || null, note: v.note || null });
      go(`#/household/${hid}`);
    } catch (err) {
      document.getElementById("flag-msg").replaceChildren(message(errDetail(err), "error"));
    }
  });
  show(form);
}

function flagView(fid) {
  const f = app.replica.flag(fid);
  if (!f) return show(message(t("no_flags"), "error"));
  const role = app.worker?.role;
  const actions = [...allowedActions(role, f.state, f.level, f.summons), "note"];
  const summons = Object.entries(f.summons || {});
  const visits = app.replica.visitsOf(f.home);
  const box = h("div", { id: "flag-msg" });
  const act = async (action) => {
    try {
      const visitId = action === "verify" ? visits[0]?.id : null;
      if (action === "verify" && !visitId) throw Object.assign(new Error(t("verify_needs_visit")), { code: "invalid_change" });
      await app.moveFlag(fid, action, { visitId, note: document.getElementById("f-note")?.value || null });
      flagView(fid);
    } catch (err) {
      box.replaceChildren(message(errDetail(err), "error"));
    }
  };
  show(h("section", { class: "card", id: "flag" },
    h("h1", {}, flagBadge(f)),
    h("p", {}, t("flag_at", { level: label("level", f.level), state: label("state", f.state) })),
    f.concurrent.length ? message(t("concurrent"), "warn") : null,
    summons.length ? h("p", { id: "summons" }, t("summons"), t("sep"), summons.map(([d, st]) => `${d.slice(0, 8)} ${label("summons", st)}`).join(t("list_sep"))) : null,
    h("p", {}, h("a", { href: `#/household/${f.home}` }, t("household"))),
    f.note ? h("p", {}, f.note) : null,
    h("ol", { class: "events" }, f.events.map((e) => h("li", {}, label("action", e.action), " ", when(new Date(Number(e.stamp.slice(0, 13))).toISOString()), e.note ? ` · ${e.note}` : ""))),
    field("note", t("note"), input("note", { maxlength: 2000 })),
    h("div", { class: "actions" }, actions.map((a) => h("button", { type: "button", class: "action", "data-action": a, onclick: () => act(a) }, label("action", a)))),
    box));
}

function dueView() {
  const due = app.replica.dueVisits();
  show(h("section", { class: "card" }, h("h1", {}, t("due_visits")),
    due.length ? h("ul", { id: "due", class: "list" }, due.map((d) => {
      const hh = app.replica.records.household.get(d.household_id);
      return h("li", { class: d.overdue ? "overdue" : "" }, h("a", { href: `#/household/${d.household_id}` },
        h("span", { class: `dot ${d.colour}` }), h("b", {}, hh ? door(hh.values) : d.household_id.slice(0, 8)),
        h("small", {}, label("why", d.why), " · ", d.overdue ? t("overdue") : t("due_on", { when: when(d.due_at) }))));
    })) : h("p", { class: "empty" }, t("no_due"))));
}

function flagsView() {
  const flags = app.replica.flags({ open: true });
  show(h("section", { class: "card" }, h("h1", {}, t("my_flags")),
    flags.length ? h("ul", { id: "flag-queue", class: "list" }, flags.map((f) => {
      const hh = app.replica.records.household.get(f.home);
      return h("li", {}, h("a", { href: `#/flag/${f.id}` }, flagBadge(f), " ", hh ? door(hh.values) : "",
        h("small", {}, t("flag_at", { level: label("level", f.level), state: label("state", f.state) }))));
    })) : h("p", { class: "empty" }, t("no_flags"))));
}

function syncView() {
  const s = app.status();
  const refused = [...app.replica.refused.values()];
  const report = app.meta.last_report;
  show(
    h("section", { class: "card", id: "sync-page" }, h("h1", {}, t("sync_status")),
      h("p", {}, s.pending ? t("pending", { n: s.pending }) : t("nothing_pending")),
      h("p", {}, s.lastSync ? t("last_sync", { when: when(s.lastSync) }) : t("never_synced")),
      report ? h("p", { id: "last-report" }, t("sync_done", report)) : null,
      s.lastError ? message(t("sync_failed", { why: errText(s.lastError) }), "error") : null,
      h("p", { class: "hint" }, t("labelled", { label: t("device"), value: app.deviceId })),
      field("language", t("language"), select("language", Object.keys(TABLES).map((l) => [l, t(`lang.${l}`)]),
        { value: language(), blank: false })),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: doSync }, t("sync_now")),
        h("button", { type: "button", id: "logout", onclick: async () => { await app.logout(); go("#/login"); } }, t("logout")))),
    h("section", { class: "card" }, h("h2", {}, t("refused")),
      refused.length ? h("p", { class: "hint" }, t("refused_hint")) : null,
      h("ul", { id: "refused", class: "list" }, refused.map((r) => h("li", { class: "refused-item" },
        h("b", {}, label("entity", r.change.entity), " ", r.change.fields.address || r.change.fields.name
          || label("category", r.change.fields.category || "") || label("action", r.change.fields.action || "")),
        h("div", {}, errText(r.reason || {})),
        // the server's detail is in English: shown beside the words only to an English reader
        language() === "en" ? h("small", { class: "reason" }, r.reason?.message || "") : null,
        h("button", { type: "button", class: "small", onclick: async () => { await app.dismissRefused(r.change.change_id); syncView(); } }, t("dismiss")))))));
}

// --- the language ----------------------------------------------------------------------------
/** The words outside the screens (the page's title, the navigation) in the language chosen. */
function renderShell() {
  document.title = t("app_name");
  const nav = document.querySelector("header nav");
  if (!nav) return;
  const words = { "#/": "app_name", "#/households": "nav_households", "#/due": "nav_due", "#/flags": "nav_flags",
    "#/sync": "nav_sync" };
  for (const a of nav.querySelectorAll("a")) if (words[a.getAttribute("href")]) a.textContent = t(words[a.getAttribute("href")]);
}

document.addEventListener("change", (e) => {
  if (e.target?.id !== "f-language") return;
  chooseLanguage(e.target.value);
  renderShell();
  route();
});

// --- routing ---------------------------------------------------------------------------------
function route() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  renderBar();
  document.body.dataset.view = parts[0] || "home";
  if (!app.worker || (!app.tokenValid() && parts[0] !== "sync" && !app.meta.last_sync)) return loginView();
  if (parts[0] === "login") return loginView();
  switch (parts[0]) {
    case undefined: return homeView();
    case "households": return householdsView(params);
    case "new-household": return newHouseholdView(params);
    case "household":
      if (parts[2] === "person") return newPersonView(parts[1]);
      if (parts[2] === "visit") return visitView(app, parts[1]);
      if (parts[2] === "flag") return newFlagView(parts[1]);
      if (parts[2] === "edit") return editHouseholdView(parts[1]);
      return householdView(parts[1]);
    case "flag": return flagView(parts[1]);
    case "due": return dueView();
    case "flags": return flagsView();
    case "sync": return syncView();
    default: return homeView();
  }
}

async function boot() {
  initLanguage();
  renderShell();
  app = await FieldApp.open();
  window.fieldApp = app;   // for the browser tests and a curious engineer
  app.onChange(renderBar);
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => { renderBar(); if (app.tokenValid() && app.status().pending) doSync(); });
  window.addEventListener("offline", renderBar);
  route();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch(() => {});
  }
  document.body.classList.add("ready");
}

boot();
