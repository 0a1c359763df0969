"""add orders

Revision ID: 3f2a9c1b7d10
Revises: 1a2b3c4d5e6f
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "3f2a9c1b7d10"
down_revision: Union[str, Sequence[str], None] = (
    "1a2b3c4d5e6f",
    'merge_heads_20260130',
)
branch_labels: Union[str, Sequence[str], None] = None
depends_on = ["0001"]


def upgrade() -> None:
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("users", sa.Column("nickname", sa.String(50)))


def downgrade() -> None:
    op.drop_column("users", "nickname")
    op.drop_table("orders")
    op.execute("DROP TABLE IF EXISTS audit; -- raw")
