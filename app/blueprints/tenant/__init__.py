from flask import Blueprint

bp = Blueprint("tenant", __name__)

from app.blueprints.tenant import routes  # noqa: E402, F401
