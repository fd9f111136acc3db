from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

from app.blueprints.api import batch, openapi, routes  # noqa: E402, F401
from app.blueprints.api.errors import register_error_handlers  # noqa: E402

register_error_handlers(bp)
