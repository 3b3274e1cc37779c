"""A small fixture city whose numbers a person can check by hand.

city X → district D1 → street S1 → communities C1 (grids G1, G2) and C2 (grid G3);
district D2 → street S2 → community C3 (grid G4).
Workers (password "pw-<name>"): w1 (G1), w2 (G2), w3 (G3), w12 (G1 and G2), comm1 (C1),
street1 (S1), district2 (D2), bureau, admin.
"""
from server.services.accounts import create_area, create_worker
from server.extensions import db


def make_city():
    x = create_area("X", "测试市", "city")
    d1 = create_area("D1", "一区", "district", x)
    d2 = create_area("D2", "二区", "district", x)
    s1 = create_area("S1", "一街道", "street", d1)
    s2 = create_area("S2", "二街道", "street", d2)
    c1 = create_area("C1", "一社区", "community", s1)
    c2 = create_area("C2", "二社区", "community", s1)
    c3 = create_area("C3", "三社区", "community", s2)
    g1 = create_area("G1", "一网格", "grid", c1)
    g2 = create_area("G2", "二网格", "grid", c1)
    g3 = create_area("G3", "三网格", "grid", c2)
    g4 = create_area("G4", "四网格", "grid", c3)
    db.session.flush()
    for name, role, area, grids in [
        ("w1", "grid_worker", c1, [g1]), ("w2", "grid_worker", c1, [g2]), ("w3", "grid_worker", c2, [g3]),
        ("w12", "grid_worker", c1, [g1, g2]), ("comm1", "community", c1, []), ("street1", "street", s1, []),
        ("district2", "district", d2, []), ("bureau", "bureau", None, []), ("admin", "admin", None, []),
    ]:
        create_worker(name, "pw-" + name, role, area=area, grids=grids)
    db.session.commit()
    return {a.code: str(a.id) for a in (x, d1, d2, s1, s2, c1, c2, c3, g1, g2, g3, g4)}
