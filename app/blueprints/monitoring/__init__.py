from flask import Blueprint

bp = Blueprint("monitoring", __name__)

from app.blueprints.monitoring import (  # noqa: E402, F401
    health_routes,
    insights_routes,
    reconciler_routes,
    routes,
)
