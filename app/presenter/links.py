"""URLs between surfaces: list views with filters, details with their way back."""

from urllib.parse import urlsplit

from flask import url_for

from app.operations import freshness as fr

LIST_PATH = "/admin/operations"


def operations_url(**params):
    """The canonical list with ``params`` (None and empty values dropped)."""
    return url_for(
        "monitoring.operations", **{k: v for k, v in params.items() if v not in (None, "")}
    )


def stale_cta_url(tenant_id):
    """The tenant dashboard's call to action: the tenant's likely stale runs."""
    return operations_url(
        tenant_id=tenant_id,
        activeTab=fr.ACTIVE_STALE_ATTENTION,
        problemClass=fr.ACTIVE_STALE_ATTENTION,
    )


def run_url(run_id, back=None):
    """The canonical detail of a run; ``back`` is the list view to return to."""
    return url_for("monitoring.run_detail", run_id=run_id, back=safe_back(back))


def tenant_url(tenant_uuid):
    """The tenant dashboard."""
    return url_for("tenant.dashboard", tenant_uuid=tenant_uuid)


def safe_back(value):
    """``value`` if it is a path on the canonical list (never another site), else None."""
    if not value or not isinstance(value, str) or "\\" in value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "//[": an unparsable host
        return None
    if parts.scheme or parts.netloc or parts.path != LIST_PATH or value.startswith("//"):
        return None
    return value
