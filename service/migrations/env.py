"""Alembic environment: runs on the connection ``service.db.upgrade`` passes in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# Every domain's tables module, imported so that its tables are on the metadata.
from service.credits import models as _credits  # noqa: F401
from service.keys import models as _keys  # noqa: F401
from service.suggestions import models as _suggestions  # noqa: F401
from service.usage import models as _usage  # noqa: F401

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via service.db.upgrade
    raise RuntimeError("run migrations with `kbassist db upgrade` (service.db.upgrade)")
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
