"""API keys and rate limits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_keys',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('user_id', sa.UUID(), nullable=False),
        sa.Column('label', sa.String(length=64), nullable=False),
        sa.Column('scopes', postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column(
            'ip_allowlist',
            postgresql.ARRAY(sa.String(length=64)),
            server_default='{}',
            nullable=False,
        ),
        sa.Column('secret_sealed', sa.Text(), nullable=False),
        sa.Column('market_maker', sa.Boolean(), server_default='false', nullable=False),
        sa.Column(
            'created_at',
            sa.DateTime(timezone=True),
            server_default=sa.text('now()'),
            nullable=False,
        ),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['READ','TRADE','WITHDRAW']::varchar[]", name=op.f('ck_api_keys_scopes')
        ),
        sa.CheckConstraint('cardinality(scopes) > 0', name=op.f('ck_api_keys_scopes_not_empty')),
        sa.CheckConstraint('length(label) > 0', name=op.f('ck_api_keys_label_not_empty')),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    )
    op.create_index('ix_api_keys_user_id', 'api_keys', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_api_keys_user_id', table_name='api_keys')
    op.drop_table('api_keys')
