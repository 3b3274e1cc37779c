// The field app's own writes refused as the server refuses them, with the words it shows: flags
// raised only at the community, a case not closed while a summoned department has not answered,
// typed values (ID number, phone, birth date, category) checked at entry.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FieldApp } from "../../server/field/static/app/field.js";
import { errText } from "../../server/field/static/app/ui.js";
import { HybridClock } from "../../server/field/static/core/hlc.js";
import { Replica } from "../../server/field/static/core/replica.js";

const G = "99999999-9999-4999-8999-999999999999";
const D = "55555555-5555-4555-8555-555555555555";

function fieldApp(role) {
  const app = new FieldApp();
  app.replica = new Replica();
  app.store = { save: async () => {} };
  app.clock = new HybridClock("field-test");
  app.replica.setMeta("worker", { role, grid_ids: [G] });
  return app;
}

const refused = async (promise) => {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("the write was taken");
};

test("a grid worker raises a flag at the community; a street's staff may not raise one", async () => {
  const worker = fieldApp("grid_worker");
  const hid = await worker.createHousehold({ grid_id: G, address: "和平路12号" });
  const fid = await worker.raiseFlag(hid, { category: "elderly_alone", colour: "red" });
  assert.equal(worker.replica.flag(fid).level, "community");
  assert.equal(worker.replica.outbox.size, 2);

  const street = fieldApp("street");
  street.replica.setMeta("worker", { role: "street", grid_ids: [G] });
  const h2 = await street.createHousehold({ grid_id: G, address: "和平路14号" });
  const err = await refused(street.raiseFlag(h2, { category: "elderly_alone", colour: "red" }));
  assert.equal(err.code, "not_allowed");
  assert.equal(err.field, "level");
  assert.equal(errText(err), "预警只能在社区一级上报，需要更高层级处理时请上转");
  assert.equal(street.replica.outbox.size, 1);
});

test("a case is not closed while a summoned department has not answered or been released", async () => {
  const app = fieldApp("system");
  const hid = await app.createHousehold({ grid_id: G, address: "和平路12号" });
  const fid = await app.raiseFlag(hid, { category: "elderly_alone", colour: "red" });
  for (const action of ["confirm", "start", "resolve"]) await app.moveFlag(fid, action);
  await app.moveFlag(fid, "verify", { visitId: D });
  await app.moveFlag(fid, "summon", { departmentId: D, note: "请到场" });
  assert.deepEqual(app.replica.flag(fid).summons, { [D]: "summoned" });

  const before = app.replica.outbox.size;
  const early = await refused(app.moveFlag(fid, "answer", { departmentId: D, note: "已处理" }));
  assert.equal(early.code, "summons_state");
  assert.equal(errText(early), "该部门的报到或反馈情况已有变化，请按当前情况办理");
  const close = await refused(app.moveFlag(fid, "close"));
  assert.equal(close.code, "summons_open");
  assert.equal(errText(close), "还有被召集的部门尚未反馈或解除，暂不能办结");
  assert.equal(app.replica.outbox.size, before);

  await app.moveFlag(fid, "report_in", { departmentId: D });
  await app.moveFlag(fid, "answer", { departmentId: D, note: "已处理" });
  await app.moveFlag(fid, "close");
  assert.equal(app.replica.flag(fid).state, "closed");
  assert.deepEqual(app.replica.flag(fid).summons, { [D]: "answered" });
});

test("typed values are refused at entry with the server's words in Chinese", async () => {
  const app = fieldApp("grid_worker");
  const hid = await app.createHousehold({ grid_id: G, address: "和平路12号", phone: "010-65123456" });
  const cases = [
    [() => app.addPerson(hid, { name: "王", id_number: "110105194912310021" }), "invalid_id_number",
      "身份证号不对：应为18位，末位为数字或X，校验位和出生日期正确"],
    [() => app.addPerson(hid, { name: "王", phone: "1380013800" }), "invalid_phone",
      "电话号码不对：手机号为11位（1xxxxxxxxxx），座机如 010-12345678"],
    [() => app.addPerson(hid, { name: "王", birth_date: "2199-01-01" }), "date_in_future", "出生日期晚于今天"],
    [() => app.addPerson(hid, { name: "王", birth_date: "1850-01-01" }), "birth_date_too_old", "出生日期早于130年前"],
    [() => app.raiseFlag(hid, { category: "dance", colour: "red" }), "unknown_category", "不是本市的预警类别"],
    [() => app.raiseFlag(hid, { category: "elderly_alone", colour: "red", personId: `{${D}}` }), "invalid_change",
      "内容有误"],
  ];
  const before = app.replica.outbox.size;
  for (const [write, code, words] of cases) {
    const err = await refused(write());
    assert.equal(err.code, code, err.message);
    assert.equal(errText(err), words);
  }
  assert.equal(app.replica.outbox.size, before);
  const pid = await app.addPerson(hid, { name: "王", id_number: "11010519491231002x", phone: "+86 138-0013-8000" });
  assert.equal(app.replica.records.person.get(pid).values.id_number, "11010519491231002X");
});
