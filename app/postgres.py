"""PostgreSQL connection settings."""

# Every statement Runwarden repeats (pages, API, reconciler) is built once and sent with
# its values as parameters; psycopg prepares it on the fifth use. PostgreSQL then plans
# each execution again whenever its cost guess for the generic plan is higher than for
# the custom ones, which it is for the freshness and LIMIT clauses (up to 3 ms of
# planning per list page at 1M runs). The plans do not depend on the values (literal
# status lists pick the partial indexes, keyset order picks the rest), so the generic
# plan is used: 1-3 ms faster per page at 1M runs.
#
# No parallel workers: a page's widest read (a week of a tenant's runs, a week of
# follow-ups) is a few thousand index entries, where starting workers costs more than it
# saves, and the web processes need the cores. With them, generic plans of those two
# aggregates went parallel at 5M runs and took 20 ms instead of 11-14 ms.
SESSION_SETTINGS = "-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0"


# Connections each process keeps (see ``configure``).
POOL_SIZE = 15

# psycopg parses a statement's text for its placeholders on every execution unless the text
# is at most MAX_CACHED_STATEMENT_LENGTH (4 KiB) long; a heartbeat's single statement (the
# run's UPDATE with its events, feed row and wake-up) is about 7 KiB, so each report paid
# for that parse (0.13 ms of the web process's CPU). Runwarden's statements are built once
# and repeat, so the longer ones are cached too (psycopg keeps at most 128).
STATEMENT_CACHE_LENGTH = 16 * 1024


def cache_long_statements():
    """Let psycopg cache the parse of statements up to STATEMENT_CACHE_LENGTH long."""
    from psycopg import _queries

    if _queries.MAX_CACHED_STATEMENT_LENGTH < STATEMENT_CACHE_LENGTH:
        _queries.MAX_CACHED_STATEMENT_LENGTH = STATEMENT_CACHE_LENGTH


def configure(config):
    """Add the session settings to ``config``'s engine options for a PostgreSQL URL, and
    check pooled connections before reuse (a terminated or restarted server's connections
    are replaced instead of failing the request that draws them)."""
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    cache_long_statements()
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_pre_ping", True)
    # As many connections as before (5 + 10 overflow) but all kept: under load the
    # overflow ones were closed on return and opened again a moment later, a new
    # PostgreSQL backend each time (up to one heartbeat call in 15 through gunicorn's 64
    # threads; kept, the same bench gave 217 heartbeats/s instead of 174).
    options.setdefault("pool_size", POOL_SIZE)
    options.setdefault("max_overflow", 0)
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = f"{connect_args.get('options', '')} {SESSION_SETTINGS}".strip()
    options["connect_args"] = connect_args
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options
