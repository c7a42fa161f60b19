"""Imports every domain's tables so that SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from app.audit import models as audit_models
from app.auth import models as auth_models
from app.estate import models as estate_models
from app.evidence import models as evidence_models
from app.matching import models as matching_models

metadata = SQLModel.metadata

__all__ = ["audit_models", "auth_models", "estate_models", "evidence_models", "matching_models",
           "metadata"]
