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
