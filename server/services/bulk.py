"""Bulk inserts for the push path.

A push is bound by per-row work in Python, and SQLAlchemy's executemany spends more building
parameter dictionaries (and, on PostgreSQL, binding each row as its own statement) than the
database spends storing rows. So the rows go straight to the driver, converted by each column
type's own bind processor (stored values are exactly what SQLAlchemy would store): one
executemany on SQLite, one ``COPY … FROM STDIN`` on PostgreSQL (psycopg), with the columns'
Python-side defaults filled in as SQLAlchemy would. Other databases take the ordinary Core path.
"""
from operator import itemgetter

from sqlalchemy import insert

from ..extensions import db


def insert_rows(table, rows):
    if not rows:
        return
    conn = db.session.connection()
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(conn, table, rows)
        return
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


def _copy(conn, table, rows):
    names = list(rows[0])
    defaults = [(c.name, c.default) for c in table.c if c.name not in rows[0] and c.default is not None
                and (c.default.is_scalar or c.default.is_callable)]
    dialect = conn.dialect
    convert = [(i, proc) for i, name in enumerate(names)
               if (proc := table.c[name].type._cached_bind_processor(dialect)) is not None]
    pick = itemgetter(*names)
    extra = [name for name, _ in defaults]
    columns = ", ".join(f'"{n}"' for n in names + extra)
    raw = conn.connection.dbapi_connection
    oids = _column_oids(raw, table.name, columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        # each column's dumper chosen once for the whole COPY, not looked up for every value
        copy.set_types(oids)
        for row in rows:
            values = list(pick(row)) if len(names) > 1 else [pick(row)]
            for i, proc in convert:
                values[i] = proc(values[i])
            for _, default in defaults:
                values.append(default.arg(None) if default.is_callable else default.arg)
            copy.write_row(values)


#: (table, columns) -> the columns' type oids; kept only for built-in types, whose oids are the
#: same in every database
_OIDS = {}
_FIRST_USER_OID = 16384


def _column_oids(raw, table, columns):
    oids = _OIDS.get((table, columns))
    if oids is None:
        with raw.cursor() as cur:
            cur.execute(f'SELECT {columns} FROM "{table}" LIMIT 0')
            oids = [d.type_code for d in cur.description]
        if all(o < _FIRST_USER_OID for o in oids):
            _OIDS[table, columns] = oids
    return oids
