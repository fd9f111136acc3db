"""progress high-water mark and bounded timelines

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:30:00.000000

"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
