"""Reconciler status page."""
