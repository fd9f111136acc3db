"""Database upkeep the reconciler does between passes."""

from app.notifications import retention

STATISTICS_EVERY_SECONDS = 3600


def refresh_statistics(engine):
    """Refresh SQLite's planner statistics; True when done.

    SQLite keeps none unless asked, and without them it may walk a whole-table index where
    a small partial index (active runs, follow-ups) answers at once. ANALYZE took about
    0.2 s at 1M runs. PostgreSQL's autovacuum keeps its own statistics.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    return True


def prune_notifications(config, now):
    """Remove finished notification work older than NOTIFICATIONS_KEEP_DAYS (a bounded
    number of batches per call: a backlog is worked off over the next passes); a Pruned."""
    return retention.prune(
        now, config["NOTIFICATIONS_KEEP_DAYS"], batch=config["NOTIFICATIONS_PRUNE_BATCH"]
    )
