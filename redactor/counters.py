"""Numbers the service hands out (접수번호 of requests, ...), each from a counter row taken under its lock.

`take(session, name)` increments the row with one UPDATE ... RETURNING: on PostgreSQL the row stays locked until the
caller commits, so a concurrent taker waits and then reads the new value; on SQLite the UPDATE takes the database's
write lock (see `redactor.db`). Two staff filing at the same moment get two numbers, never the same one, and a
number taken by a transaction that rolls back is given again (the counter rolls back with it): no gaps from failures.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Integer, String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from redactor.base import Base


class Counter(Base):
    """The last number given under one name, e.g. "request:2026" for the year's 접수번호."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


def take(session: Session, name: str, floor: Callable[[], int] = lambda: 0) -> int:
    """The next number under `name` (1, 2, ... or on from `floor()`, the highest already given before the counter
    existed). Held for the caller's transaction: nothing here commits."""
    table = Counter.__table__
    bump = update(table).where(table.c.name == name).values(value=table.c.value + 1).returning(table.c.value)
    value = session.execute(bump).scalar()
    if value is None:
        dialect = session.get_bind().dialect.name
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
        # Two first takers at once: one row is made, the other insert does nothing, and both then bump it in turn.
        session.execute(insert(table).values(name=name, value=floor()).on_conflict_do_nothing(index_elements=["name"]))
        value = session.execute(bump).scalar_one()
    return value
