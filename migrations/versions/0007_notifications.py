"""notification channels, outbox and deliveries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:35:00.000000

"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
