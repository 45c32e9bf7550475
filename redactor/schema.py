"""The one registry of tables: imports every domain's models so that `Base.metadata` knows them all. Migrations
(redactor/migrations/env.py) and the tests (which truncate every table between tests) use it; a new domain with
tables adds its models here."""

from __future__ import annotations

from sqlalchemy import MetaData

from redactor.base import Base


def load_models() -> MetaData:
    import redactor.access_log.models  # noqa: F401
    import redactor.counters  # noqa: F401
    import redactor.disclosure.models  # noqa: F401
    import redactor.identify.models  # noqa: F401
    import redactor.jobs.models  # noqa: F401 - handover_packages refers to jobs
    import redactor.ledger.models  # noqa: F401
    import redactor.registry.models  # noqa: F401
    import redactor.review.models  # noqa: F401

    return Base.metadata
