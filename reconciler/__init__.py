"""The reconciler: closes runs whose reconcile time has come, unattended and on a schedule.

``reconcile.py`` is one pass, ``lease.py`` the leader election, ``loop.py`` the schedule and
the embedded mode; ``python -m reconciler`` runs it as its own process.
"""
