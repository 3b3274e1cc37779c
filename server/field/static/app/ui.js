// DOM helpers for the screens: elements built with text set as text (nothing typed is ever
// parsed as HTML), form fields, messages, and the few formats every screen shares.
import { label, language, t } from "../i18n/index.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const main = () => document.getElementById("main");

export function show(...nodes) {
  main().replaceChildren(...nodes.filter(Boolean));
  window.scrollTo(0, 0);
}

export const go = (hash) => { location.hash = hash; };
export const when = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return t("date_time", { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), mm: p(d.getMonth() + 1),
    dd: p(d.getDate()), time: `${p(d.getHours())}:${p(d.getMinutes())}` });
};
export const errText = (err) => {
  // a refusal's words by its code, or by its code and the field it names when they differ by field
  const known = `err.${err.code}`, byField = `${known}.${err.field}`;
  const text = t(byField) !== byField ? t(byField, err.params) : t(known, err.params);
  return text === known ? `${t("err.error")}${t("sep")}${err.message || err.code}` : text;
};
/** A refusal at entry: its words, and to an English reader the check's own detail after them
 * (the detail is English; a Chinese reader has the words only, which name the field). */
export const errDetail = (err) => {
  const said = errText(err);
  return language() === "en" && err.message && !said.includes(err.message) ? `${said}${t("sep")}${err.message}` : said;
};
export const door = (hh) => [hh.address, hh.building, hh.unit, hh.room].filter(Boolean).join(" ");

export function field(name, text, input) {
  return h("label", { class: "field" }, h("span", {}, text), input);
}

export function input(name, attrs = {}) {
  return h("input", { name, id: `f-${name}`, ...attrs });
}

export function select(name, options, { value = "", blank = true } = {}) {
  return h("select", { name, id: `f-${name}` },
    blank ? h("option", { value: "" }, t("answer_unset")) : null,
    options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
}

export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
  return out;
}

export function message(text, kind = "info") {
  return h("p", { class: `msg ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function flagBadge(f) {
  return h("span", { class: `badge ${f.colour}` }, label("category", f.category));
}
