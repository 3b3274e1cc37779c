// The field app's two tables say the same things: every key in both, the same {placeholders},
// no Chinese in the English one; and the language is picked from the setting, then the browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { STRINGS as en } from "../../server/field/static/i18n/en.js";
import { label, pickLanguage, setLanguage, t } from "../../server/field/static/i18n/index.js";
import { STRINGS as zh } from "../../server/field/static/i18n/zh-CN.js";

const holes = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;

test("every key is in both tables, with the same placeholders", () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(zh).sort());
  // a date is written with other parts in each language: both are handed all of them (ui.js when)
  for (const key of Object.keys(zh)) if (key !== "date_time") assert.deepEqual(holes(en[key]), holes(zh[key]), key);
});

test("the English table has no Chinese, and the Chinese one no English sentence", () => {
  for (const [key, text] of Object.entries(en)) assert.ok(!CJK.test(text), key);
  for (const [key, text] of Object.entries(zh)) assert.ok(!/[a-z]{4,} [a-z]{2,}/i.test(text), key);
});

test("the language: the setting, then the browser's first known language, else Chinese", () => {
  assert.equal(pickLanguage(null, []), "zh-CN");
  assert.equal(pickLanguage(null, ["fr-FR", "en-GB", "zh-CN"]), "en");
  assert.equal(pickLanguage(null, ["zh-TW", "en"]), "zh-CN");
  assert.equal(pickLanguage("en", ["zh-CN"]), "en");
  assert.equal(pickLanguage("xx", ["en-US"]), "en");
});

test("t and label say the words of the language set", () => {
  setLanguage("en");
  assert.equal(t("pending", { n: 3 }), "3 to sync");
  assert.equal(label("colour", "red"), "red (urgent)");
  assert.equal(label("category", "自定义"), "自定义");
  setLanguage("zh-CN");
  assert.equal(t("pending", { n: 3 }), "待同步 3 条");
  assert.equal(label("state", "closed"), "已办结");
});
