from flask import Blueprint

bp = Blueprint("monitoring", __name__)

from app.blueprints.monitoring import health_routes, reconciler_routes, routes  # noqa: E402, F401
