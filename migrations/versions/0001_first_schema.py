"""The first schema: subscribers, the message log, ticket links and attributions, as
`create_all` made them before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriber",
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("consent", sa.Enum("OPTED_IN", "OPTED_OUT", name="consent"), nullable=False),
        sa.Column("keyword", sa.String(), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.create_table(
        "messagelog",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("direction", sa.Enum("INBOUND", "OUTBOUND", name="direction"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("from_number", sa.String(), nullable=False),
        sa.Column("to_number", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("encoding", sa.String(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(), nullable=True),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "RECEIVED",
                "SENDING",
                "SENT",
                "DELIVERED",
                "UNDELIVERED",
                "FAILED",
                name="sendstatus",
            ),
            nullable=False,
        ),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("provider_sid"),
    )
    op.create_index("ix_messagelog_conversation_id", "messagelog", ["conversation_id"])
    op.create_index("ix_messagelog_created_at", "messagelog", ["created_at"])
    op.create_index("ix_messagelog_ticket_id", "messagelog", ["ticket_id"])
    op.create_table(
        "ticketlink",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("sender_number", sa.String(), nullable=False),
        sa.Column("customer_phone", sa.String(), nullable=False),
        sa.Column("follow_up_of", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_ticketlink_conversation_id", "ticketlink", ["conversation_id"])
    op.create_table(
        "attribution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("message_sid", sa.String(), nullable=False),
        sa.Column("outbound_message_id", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("campaign_or_flow_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("attributed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_sid"),
    )
    op.create_index("ix_attribution_conversation_id", "attribution", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("attribution")
    op.drop_table("ticketlink")
    op.drop_table("messagelog")
    op.drop_table("subscriber")
    sa.Enum(name="sendstatus").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="direction").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="consent").drop(op.get_bind(), checkfirst=True)
