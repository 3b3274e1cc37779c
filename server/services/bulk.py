"""Bulk inserts for the push path.

On SQLite a push is bound by per-row work in Python, and SQLAlchemy's executemany spends more
building parameter dictionaries than SQLite spends storing rows. There the rows go straight to
the driver, converted by each column type's own bind processor (so stored values are exactly
what SQLAlchemy would store); other databases take the ordinary Core path.
"""
from operator import itemgetter

from sqlalchemy import insert

from ..extensions import db


def insert_rows(table, rows):
    if not rows:
        return
    conn = db.session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    convert = [(i, proc) for i, name in enumerate(names)
               if (proc := table.c[name].type._cached_bind_processor(dialect)) is not None]
    pick = itemgetter(*names)
    params = []
    for row in rows:
        values = list(pick(row)) if len(names) > 1 else [pick(row)]
        for i, proc in convert:
            values[i] = proc(values[i])
        params.append(tuple(values))
    sql = f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) ' \
          f'VALUES ({", ".join("?" * len(names))})'
    conn.exec_driver_sql(sql, params)
