"""Report operation runs to Runwarden from Python workers."""

from runwarden_client.client import Run, Runwarden
from runwarden_client.transport import ApiError, RunwardenError, Unavailable

__all__ = ["ApiError", "Run", "Runwarden", "RunwardenError", "Unavailable"]
