// The field app's words in the reader's language: Chinese unless the setting on the sync page or
// the browser's language asks for English. One table per language (zh-CN.js, en.js), the same
// keys in each; `t(key, params)` says one, `label(prefix, value)` names a code.
import { STRINGS as en } from "./en.js";
import { STRINGS as zh } from "./zh-CN.js";

export const TABLES = { "zh-CN": zh, en };
export const DEFAULT = "zh-CN";
const SETTING = "field.lang";
let current = DEFAULT;

/** The language to use: the setting if it names one, else the first of the browser's languages
 * there is a table for, else Chinese. */
export function pickLanguage(setting, languages = []) {
  if (Object.hasOwn(TABLES, setting || "")) return setting;
  for (const lang of languages || []) {
    const low = String(lang || "").toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("en")) return "en";
  }
  return DEFAULT;
}

export function setLanguage(lang) {
  current = Object.hasOwn(TABLES, lang) ? lang : DEFAULT;
  if (typeof document !== "undefined") document.documentElement.lang = current;
  return current;
}

export const language = () => current;

function saved() {
  try { return globalThis.localStorage?.getItem(SETTING) ?? null; } catch { return null; }
}

/** At start: the saved setting, else the browser's languages. */
export function initLanguage() {
  const nav = globalThis.navigator;
  return setLanguage(pickLanguage(saved(), nav ? (nav.languages?.length ? nav.languages : [nav.language]) : []));
}

/** The worker's choice on the sync page, kept for the next start. */
export function chooseLanguage(lang) {
  try { globalThis.localStorage?.setItem(SETTING, lang); } catch { /* private mode: for this session only */ }
  return setLanguage(lang);
}

export function t(key, params = {}) {
  const text = TABLES[current][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ""));
}

/** A label for a value with a table entry under `prefix.value`, or the value itself. */
export function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return Object.hasOwn(TABLES[current], key) ? TABLES[current][key] : String(value ?? "");
}
