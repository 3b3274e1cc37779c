"""A small demo city, written through the same ingest path as device pushes."""
import datetime as dt
import random
import secrets
import uuid

from flask import current_app
from stdnum.cn import ric

from sync.checklist import CHECK_KEYS
from sync.messages import N_

from .services.accounts import create_area, create_department, create_worker
from .extensions import db
from .models import Device, Worker, WorkerGrid
from .services.server_changes import apply_as_server, server_change

DEMO_LOGINS = [
    ("admin", "admin-demo", "admin", N_("accounts and areas")),
    ("worker1", "worker-demo", "grid_worker", N_("grids G-1-1-1-1 … G-1-1-1-4")),
    ("worker2", "worker-demo", "grid_worker", N_("grids G-1-1-2-1 … G-1-1-2-4")),
    ("community1", "community-demo", "community", N_("community C-1-1-1")),
    ("street1", "street-demo", "street", N_("street S-1-1")),
    ("district1", "district-demo", "district", N_("district D-1")),
    ("bureau", "bureau-demo", "bureau", N_("city-wide aggregates")),
    ("weijian1", "dept-demo", "department", N_("%(department)s: cases it is summoned to")),
    ("minzheng1", "dept-demo", "department", N_("%(department)s: cases it is summoned to")),
]
#: the facts the lines above name
DEMO_LOGIN_PARAMS = {"weijian1": {"department": "东城区卫健局"}, "minzheng1": {"department": "东城第1街道民政办"}}
#: a district's departments (区级部门) and a street's (街道站所): name, hours to report in, to answer
DISTRICT_DEPARTMENTS = [("WJ", "卫健局", 4, 48), ("JY", "教育局", 24, 72), ("CL", "残联", 24, 72),
                        ("YB", "医保局", 24, 72), ("RS", "人社局", 24, 72), ("ZJ", "住建局", 24, 120)]
STREET_DEPARTMENTS = [("MZ", "民政办", 24, 72)]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕鹏辉建国建华志强婷雪梅浩宇子涵欣怡梓轩"
ROADS = ["和平路", "解放路", "人民路", "建设路", "幸福街", "光明巷", "友谊路", "新华街", "团结路", "朝阳路"]
DISTRICTS = ["东城区", "西城区", "南湖区"]
#: what a check in trouble can turn into: (category, colour, the worker's note), so a flag's
#: category, colour and note tell one story
CATEGORIES = {
    "children": [("de_facto_unsupported_child", "red", "父母外出务工，孩子无人照看"),
                 ("children_in_difficulty", "yellow", "孩子辍学在家，需跟进")],
    "health": [("unregistered_disability", "yellow", "肢体残疾未办残疾证"),
               ("illness_poverty", "yellow", "户主重病，医疗欠款较多"),
               ("elderly_alone", "green", "老人独居，子女在外地")],
    "income": [("low_income", "yellow", "家庭人均收入低于低保标准")],
    "food": [("food_shortage", "red", "家中缺粮，每天不足两餐")],
    "clothing": [("low_income", "yellow", "冬衣被褥不足")],
    "housing": [("dangerous_housing", "red", "房屋墙体开裂，鉴定为C级危房")],
}
#: what the staff write when they act
STEP_NOTES = {"confirm": "已核实情况", "start": "已联系相关部门办理", "resolve": "救助已落实",
              "verify": "回访确认已解决", "close": "结案", "reject": "经核实不符合条件"}


def _name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _id_number(rng, birth):
    body = rng.choice(["110101", "110102", "110105", "110106"]) + birth.strftime("%Y%m%d") + f"{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def _checks(rng, trouble):
    out = {}
    for key in CHECK_KEYS:
        status = "ok"
        if trouble == key:
            status = rng.choice(["concern", "urgent"])
        out[key] = {"status": status, "answers": {}, "note": ""}
    out["food"]["answers"] = {"meals_per_day": 3 if out["food"]["status"] == "ok" else 1}
    return out


def seed_demo(households=2000, seed=7):
    """Create areas, logins, households, persons, visits and flags; return counts."""
    rng = random.Random(seed)
    city = create_area("CITY", "示范市", "city")
    grids, communities = [], []
    for d in range(1, 4):
        district = create_area(f"D-{d}", DISTRICTS[d - 1], "district", city)
        for s in range(1, 3):
            street = create_area(f"S-{d}-{s}", f"{DISTRICTS[d - 1][:2]}第{s}街道", "street", district)
            for c in range(1, 3):
                community = create_area(f"C-{d}-{s}-{c}", f"{street.name}第{c}社区", "community", street)
                communities.append(community)
                for n in range(1, 5):
                    grids.append(create_area(f"G-{d}-{s}-{c}-{n}", f"{community.name}第{n}网格", "grid", community))
    db.session.flush()
    departments = {}
    for area in db.session.execute(db.select(type(city)).where(type(city).level.in_(("district", "street")))
                                   ).scalars():
        table = DISTRICT_DEPARTMENTS if area.level == "district" else STREET_DEPARTMENTS
        for code, name, report_h, answer_h in table:
            departments[f"{code}-{area.code}"] = create_department(f"{code}-{area.code}", area.name + name, area.level,
                                                                   area, report_h, answer_h)
    db.session.flush()
    by_code = {a.code: a for a in grids + communities}
    area_of = {"community": "C-1-1-1", "street": "S-1-1", "district": "D-1"}
    department_of = {"weijian1": "WJ-D-1", "minzheng1": "MZ-S-1-1"}
    for username, password, role, _ in DEMO_LOGINS:
        gs = []
        if username == "worker1":
            gs = [by_code[f"G-1-1-1-{n}"] for n in range(1, 5)]
        elif username == "worker2":
            gs = [by_code[f"G-1-1-2-{n}"] for n in range(1, 5)]
        area = None
        if role in area_of:
            area = db.session.execute(db.select(type(city)).where(type(city).code == area_of[role])).scalar_one()
        elif role == "grid_worker":
            area = by_code["C-1-1-1" if username == "worker1" else "C-1-1-2"]
        create_worker(username, password, role, area=area, grids=gs,
                      department=departments.get(department_of.get(username)),
                      work_phone=f"0571-8{len(username):03d}{sum(map(ord, username)) % 10000:04d}"
                      if role in ("community", "street", "district", "department") else None)
    # The other communities' grids get workers of their own (no password anyone knows), so
    # every visit is someone's and the review can count visits per worker.
    for community in communities[2:]:
        create_worker(f"gw-{community.code.lower()}", secrets.token_urlsafe(16), "grid_worker",
                      display_name=f"{community.name}网格员", area=community,
                      grids=[g for g in grids if g.parent_id == community.id])
    # …and every community has named staff who confirm and handle its cases
    staff = {communities[0].id: db.session.execute(db.select(Worker.id).where(Worker.username == "community1"))
             .scalar_one()}
    for community in communities[1:]:
        staff[community.id] = create_worker(f"cs-{community.code.lower()}", secrets.token_urlsafe(16), "community",
                                            display_name=f"{community.name}工作人员", area=community).id
    db.session.flush()
    _tablets(random.Random(seed + 1))
    db.session.commit()
    holder = dict(db.session.execute(db.select(WorkerGrid.grid_id, WorkerGrid.worker_id)).all())
    community_of = {g.id: g.parent_id for g in grids}

    now = dt.datetime.now(dt.timezone.utc)
    changes, counts = [], {"household": 0, "person": 0, "visit": 0, "flag": 0, "flag_event": 0}
    flag_history = []

    def add(entity, eid, fields):
        changes.append(server_change(entity, eid, fields))
        counts[entity] += 1

    current = None
    for i in range(households):
        grid = grids[i * len(grids) // households]
        if grid is not current:
            # a grid's records come from its own worker's tablet
            _flush(changes, worker_id=holder.get(current.id) if current else None)
            current = grid
        hid = uuid.uuid4()
        head = _name(rng)
        add("household", hid, {"grid_id": str(grid.id), "address": f"{rng.choice(ROADS)}{rng.randint(1, 300)}号",
                               "building": f"{rng.randint(1, 20)}栋", "unit": f"{rng.randint(1, 4)}单元",
                               "room": f"{rng.randint(1, 30)}0{rng.randint(1, 4)}", "head_name": head,
                               "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"})
        members = []
        for m in range(rng.choice((1, 2, 2, 3, 3, 4, 5))):
            birth = dt.date(rng.randint(1940, 2020), rng.randint(1, 12), rng.randint(1, 28))
            pid = uuid.uuid4()
            members.append((pid, birth))
            add("person", pid, {"household_id": str(hid), "name": head if m == 0 else _name(rng),
                                "relation": "head" if m == 0 else rng.choice(["spouse", "child", "parent", "grandchild"]),
                                "gender": rng.choice("MF"), "birth_date": birth.isoformat(),
                                "id_number": _id_number(rng, birth)})
        trouble = rng.choice(CHECK_KEYS) if rng.random() < 0.15 else None
        last_visit = None
        for _ in range(rng.choice((0, 1, 1, 2))):
            vid = uuid.uuid4()
            when = now - dt.timedelta(days=rng.randint(1, 120), hours=rng.randint(0, 10))
            add("visit", vid, {"household_id": str(hid), "visited_at": when.isoformat().replace("+00:00", "Z"),
                               "checklist_version": 1, "checks": _checks(rng, trouble), "note": ""})
            last_visit = vid
        if trouble and rng.random() < 0.25:
            # A flag with a history: raised some days ago, moved on over the following days,
            # so the review pages have trends, closures and overdue cases to show.
            category, colour, note = rng.choice(CATEGORIES[trouble])
            fid = uuid.uuid4()
            at = now - dt.timedelta(days=rng.randint(0, 150), hours=rng.randint(0, 23))
            # (when, entity, id, fields, who): the grid's worker raises and verifies, the
            # community's staff confirm, handle, close or reject
            worker, officer = holder.get(grid.id), staff[community_of[grid.id]]
            history = [(at, "flag", fid, {"household_id": str(hid), "category": category, "colour": colour,
                                          "level": "community", "note": note}, worker)]
            state = "reported"
            steps = [("confirm", "confirmed"), ("start", "in_progress"), ("resolve", "resolved")]
            if rng.random() < 0.1:
                steps = [("reject", "rejected")]
            for action, nxt in steps:
                if rng.random() < 0.3:
                    break
                at = min(now, at + dt.timedelta(hours=rng.randint(2, 60)))
                history.append((at, "flag_event", uuid.uuid4(), {"flag_id": str(fid), "action": action,
                                                                 "from_state": state, "note": STEP_NOTES[action]},
                                officer))
                state = nxt
            if state == "resolved" and last_visit and rng.random() < 0.8:
                for action, nxt, extra in (("verify", "verified", {"visit_id": str(last_visit)}),
                                           ("close", "closed", {})):
                    at = min(now, at + dt.timedelta(hours=rng.randint(2, 48)))
                    history.append((at, "flag_event", uuid.uuid4(), {"flag_id": str(fid), "action": action,
                                                                     "from_state": state, "note": STEP_NOTES[action],
                                                                     **extra}, worker if action == "verify" else officer))
                    state = nxt
            flag_history.extend(history)
        if len(changes) >= 500:
            _flush(changes, worker_id=holder.get(grid.id))
    _flush(changes, worker_id=holder.get(current.id) if current else None)
    # Flags and their events arrive at the times they happened, oldest first, by who did them,
    # with the escalation job running every day in between as it would have: so the server's
    # clocks (raised at, deadlines, when each step was taken) and each escalation's reason (the
    # state the flag was in that day) tell a believable story. The cases whose time ran out
    # since yesterday are overdue now.
    from .jobs import escalate_overdue
    app = current_app._get_current_object()
    history = sorted(flag_history, key=lambda h: h[0])
    counts["escalated"], i = 0, 0
    for d in range(151, -1, -1):
        day = now - dt.timedelta(days=d)
        while i < len(history) and history[i][0] <= day:
            at, entity, eid, fields, who = history[i]
            add(entity, eid, fields)
            _flush(changes, now=at, worker_id=who)
            i += 1
        db.session.commit()
        if d:
            counts["escalated"] += escalate_overdue(app, now=day)
    counts["summons"] = _summons_history(rng, now, departments)
    from .services.review import refresh
    refresh(now)
    return {"grids": len(grids), "households": counts["household"], "persons": counts["person"],
            "visits": counts["visit"], "flags": counts["flag"], "flag events": counts["flag_event"], "escalated": counts["escalated"],
            "summons": counts["summons"]}


def _tablets(rng):
    """A tablet per grid worker, as the admin pages show them: most synced this evening with
    nothing left unsent, a few with changes waiting, one not seen for days (its own generator,
    so the rest of the demo is the same with or without it)."""
    now = dt.datetime.now(dt.timezone.utc)
    workers = db.session.execute(db.select(Worker).where(Worker.role == "grid_worker")
                                 .order_by(Worker.username)).scalars().all()
    for i, worker in enumerate(workers):
        ago = dt.timedelta(days=3, hours=rng.randint(0, 20)) if i == len(workers) - 1 else \
            dt.timedelta(minutes=rng.randint(5, 600))
        db.session.add(Device(id=f"demo-tab-{worker.username}", worker_id=worker.id, name=f"平板 {i + 1:02d}",
                              last_seen_at=now - ago, last_sync_at=now - ago,
                              unsent_changes=rng.choice((0, 0, 0, 0, 3, 12)) if i != len(workers) - 1 else 41))


def _flush(changes, now=None, worker_id=None):
    if not changes:
        return
    apply_as_server(changes, worker_id=worker_id, now=now)
    changes.clear()


def _summons_history(rng, now, departments):
    """The street of S-1-1 summoned departments (街乡吹哨) to some of its open cases over the last
    days: some reported in and answered, some were released, some are late. Returns how many."""
    from .models import Area, Flag, Worker
    street = db.session.execute(db.select(Area).where(Area.code == "S-1-1")).scalar_one()
    summoner = db.session.execute(db.select(Worker.id).where(Worker.username == "street1")).scalar_one()
    grids = db.select(Area.id).where(Area.level == "grid", Area.path.startswith(street.path))
    flags = db.session.execute(db.select(Flag).where(Flag.current_level != "community", Flag.grid_id.in_(grids),
                                                     Flag.state.in_(("reported", "confirmed", "in_progress")))
                               .order_by(Flag.raised_at.desc())).scalars().all()
    ours = [departments["WJ-D-1"], departments["MZ-S-1-1"], departments["JY-D-1"]]
    made = 0
    for i, flag in enumerate(flags[:8]):
        at = now - dt.timedelta(hours=rng.randint(6, 96))
        if flag.current_level != "street":
            # escalated past the street long ago: sent back to it to be worked with the departments
            # by the staff of the level it was at (a person, as every step of the demo's cases)
            sender = db.session.execute(db.select(Worker.id).where(Worker.role == flag.current_level)
                                        .order_by(Worker.username)).scalars().first()
            _flush([server_change("flag_event", uuid.uuid4(), {
                "flag_id": str(flag.id), "action": "route", "level": "street", "note": "转回街道，召集相关部门办理"})],
                   now=at - dt.timedelta(hours=1), worker_id=sender)
        picked = ours[:2] if i % 2 == 0 else ours[1:]
        for dept in picked:
            steps = [("summon", {"note": "请协助：核实家庭情况并落实帮扶"})]
            fate = rng.random()
            if fate < 0.7:
                steps.append(("report_in", {}))
            if fate < 0.4:
                steps.append(("answer", {"note": "已上门核实，已按政策落实帮扶"}))
            elif fate > 0.9:
                steps.append(("release", {"note": "已由街道直接办理"}))
            when = at
            for action, extra in steps:
                when = min(now, when + dt.timedelta(hours=rng.randint(1, 30)))
                who = summoner if action in ("summon", "release") else db.session.execute(
                    db.select(Worker.id).where(Worker.department_id == dept.id)).scalars().first()
                _flush([server_change("flag_event", uuid.uuid4(), {
                    "flag_id": str(flag.id), "action": action, "department_id": str(dept.id), **extra})],
                       now=when, worker_id=who)
            made += 1
    db.session.commit()
    return made
