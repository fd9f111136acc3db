"""Tables and relationships."""

from app.models import run_search  # noqa: F401  (SQLite's search index, with the runs)
from app.models.accounts import ApiToken, Membership, TenantGrant, User
from app.models.insight_rollup import InsightDay, InsightRollupState
from app.models.notifications import (
    NotificationAttempt,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotificationItem,
    NotificationMute,
)
from app.models.reconciler import ReconcilerLease, ReconcilerPass
from app.models.runs import OperationRun, RunChange, RunEvent
from app.models.sessions import UserSession
from app.models.workspace import Tenant, Workspace

__all__ = [
    "ApiToken",
    "InsightDay",
    "InsightRollupState",
    "Membership",
    "NotificationAttempt",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationItem",
    "NotificationMute",
    "OperationRun",
    "ReconcilerLease",
    "ReconcilerPass",
    "RunChange",
    "RunEvent",
    "Tenant",
    "TenantGrant",
    "User",
    "UserSession",
    "Workspace",
]
