"""Alembic environment: runs on the connection ``service.db.upgrade`` passes in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from service import models  # noqa: F401 - registers the tables on the metadata
from service.usage import models as usage_models  # noqa: F401

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via service.db.upgrade
    raise RuntimeError("run migrations with `kbassist db upgrade` (service.db.upgrade)")
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
