"""The domain: lifecycle policy, freshness, visibility, queries and state changes."""

from flask import current_app


def get_policy(app=None):
    """The lifecycle policy of ``app`` (or the current app)."""
    return (app or current_app).extensions["runwarden.policy"]
