// The door key the app matches households on before a second copy is entered: spacing,
// punctuation, full-width characters, Chinese numerals and 栋/幢/号楼 do not make a new door.
import assert from "node:assert/strict";
import { test } from "node:test";

import { doorKey } from "../../server/field/static/core/identity.js";

test("one door in many spellings", () => {
  const key = doorKey({ address: "和平路12号", building: "3栋", unit: "2单元", room: "401" });
  for (const other of [
    { address: "和平路 12 号", building: "3幢", unit: "2单元", room: "401室" },
    { address: "和平路十二号", building: "三号楼", unit: "二单元", room: "401" },
    { address: "和平路１２号", building: "３栋", unit: "2 单元", room: "４０１" },
  ]) assert.equal(doorKey(other), key, JSON.stringify(other));
});

test("different doors stay different", () => {
  const key = doorKey({ address: "和平路12号", building: "3栋", room: "401" });
  assert.notEqual(doorKey({ address: "和平路12号", building: "3栋", room: "402" }), key);
  assert.notEqual(doorKey({ address: "和平路21号", building: "3栋", room: "401" }), key);
  assert.notEqual(doorKey({ address: "和平路12号", building: "4栋", room: "401" }), key);
  assert.equal(doorKey({}), "");
});

test("a village's door: its group in any word, the door with or without 号", () => {
  const key = doorKey({ address: "东山村5组12号" });
  for (const address of ["东山村五组12号", "东山村第五村民小组12号", "东山村 5 小组 12 号", "东山村5队12号",
    "东山村5社十二号", "东山村5组12"]) assert.equal(doorKey({ address }), key, address);
  assert.notEqual(doorKey({ address: "东山村6组12号" }), key);
  assert.notEqual(doorKey({ address: "东山村5组13号" }), key);
});
