"""Creates made under an idempotency key: the first answer is kept and given again.

The key row is inserted in the create's own transaction; the primary key (workspace, key)
makes a concurrent create under the same key fail at that INSERT (on PostgreSQL it waits
for the first transaction, then fails), so it rolls back its run and answers the first.
"""

import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.idempotency import IdempotencyKey


def fingerprint(body):
    """A digest of a JSON request body, independent of key order and spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_answer(workspace_id, key):
    """The create kept under ``key`` in the workspace, or None."""
    return db.session.execute(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key
        )
    ).scalar_one_or_none()


def remember(*, workspace_id, key, fingerprint, run_id, status, body, now):
    """Keep the answer of a create and commit it with the create's run.

    Returns None, or, when another create under the same key committed first, that one's
    kept row (this transaction, its run included, is rolled back).
    """
    row = IdempotencyKey(
        workspace_id=workspace_id,
        key=key,
        fingerprint=fingerprint,
        run_id=run_id,
        status=status,
        body=body,
        created_at=now,
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return stored_answer(workspace_id, key)
    return None
