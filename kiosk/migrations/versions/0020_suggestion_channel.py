"""一键通 suggestions reach the township by a channel of their own

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 06:30:00

A deputy's own suggestion (一键通) is filed under the township's central
station and was counted as typed at its kiosk; the figures by channel now
count it apart. Suggestions made before take their channel here.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE opinions SET channel = 'desk' WHERE suggesting_deputy_id IS NOT NULL")


def downgrade():
    op.execute("UPDATE opinions SET channel = 'kiosk' WHERE channel = 'desk'")
