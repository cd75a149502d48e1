"""What smsdesk already holds about the tickets it opens (B14: at most 2 Zendesk requests per
new conversation): the create response on the ticket's link, the requester's contact.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("ticketlink", sa.Column("opened_as", sa.String(), nullable=True))
    op.create_table(
        "zendeskrequester",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("seen_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("zendeskrequester")
    with op.batch_alter_table("ticketlink") as batch:  # SQLite drops a column by copying
        batch.drop_column("opened_as")
