"""Owners' notification pages: channels, tenant mutes, the delivery log."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)
