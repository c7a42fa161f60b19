"""Imports every domain's tables so that SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from app.audit import models as audit_models
from app.auth import models as auth_models

metadata = SQLModel.metadata

__all__ = ["audit_models", "auth_models", "metadata"]
