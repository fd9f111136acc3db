"""Database upkeep the reconciler does between passes."""

import json

from app.extensions import db
from app.notifications import retention
from app.operations.rollup import roll_up
from reconciler.reconcile import error_text

STATISTICS_EVERY_SECONDS = 3600
# The insights rollup moves its mark at most every 2 minutes (a page reads the runs since
# the mark raw: at most LAG + 2 min of them), and begins no further day after 2 s, so a
# first build of a long history is spread over passes and the lease is renewed meanwhile.
ROLLUP_EVERY_SECONDS = 120
ROLLUP_BUDGET_SECONDS = 2

# ANALYZE's figures for a partial index mislead SQLite's planner: with one workspace, it
# reads "2,000 active runs per workspace" as "every row of the table", and walks a
# whole-table index over all 1M runs (seconds) where the partial index of active runs or
# follow-ups answers at once. Without figures it takes a partial index as the small,
# selective thing it is; every other index keeps its statistics.
_PARTIAL_INDEXES = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"


def refresh_statistics(engine):
    """Refresh SQLite's planner statistics (partial indexes left without them); True when
    done.

    SQLite keeps none unless asked, and without them it may walk a whole-table index where
    a small partial index (active runs, follow-ups) answers at once. ANALYZE took about
    0.2 s at 1M runs. PostgreSQL's autovacuum keeps its own statistics.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
        partial = [row[0] for row in connection.exec_driver_sql(_PARTIAL_INDEXES)]
        for name in partial:
            connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE idx = ?", (name,))
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # this connection reloads them
    return True


def prune_notifications(config, now):
    """Remove finished notification work older than NOTIFICATIONS_KEEP_DAYS (a bounded
    number of batches per call: a backlog is worked off over the next passes); a Pruned."""
    return retention.prune(
        now, config["NOTIFICATIONS_KEEP_DAYS"], batch=config["NOTIFICATIONS_PRUNE_BATCH"]
    )


def tidy(config, policy, now, logger):
    """Notification retention, then a step of the insights rollup; a failure of either
    is logged (and rolled back), never raised."""
    try:
        pruned = prune_notifications(config, now)
    except Exception as exc:
        db.session.rollback()
        logger.exception("notification retention failed: %s", error_text(exc))
    else:
        if pruned:
            logger.info(json.dumps({"event": "notifications_pruned", **vars(pruned)}))
    try:
        days = roll_up(policy, now, every=ROLLUP_EVERY_SECONDS, budget=ROLLUP_BUDGET_SECONDS)
    except Exception as exc:
        db.session.rollback()
        logger.exception("insights rollup failed: %s", error_text(exc))
    else:
        if len(days) > 1:  # the current day alone is every pass's routine
            logger.info(json.dumps({"event": "insights_rolled", "days": [str(d) for d in days]}))
