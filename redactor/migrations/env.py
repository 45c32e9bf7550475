"""Alembic environment, driven by `redactor.db.upgrade` (the URL comes in through the Config it builds)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from redactor.schema import load_models

config = context.config
target_metadata = load_models()


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        # render_as_batch: SQLite alters tables by copying them; later migrations then work on both databases.
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
