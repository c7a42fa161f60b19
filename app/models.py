"""Imports every domain's tables so that SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from app import keyscrub as keyscrub_models
from app import locks as lock_models
from app.accounts import models as account_models
from app.audit import budget as budget_models
from app.audit import models as audit_models
from app.auth import models as auth_models
from app.auth import throttle as throttle_models
from app.cellsearch import models as cellsearch_models
from app.estate import models as estate_models
from app.evidence import models as evidence_models
from app.matching import models as matching_models
from app.takedowns import models as takedown_models

metadata = SQLModel.metadata

__all__ = ["account_models", "audit_models", "auth_models", "budget_models",
           "cellsearch_models", "estate_models", "evidence_models", "keyscrub_models",
           "lock_models", "matching_models", "metadata", "takedown_models", "throttle_models"]
