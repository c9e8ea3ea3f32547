"""foundation

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 03:36:44.012862
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType


class XID8(UserDefinedType):  # frozen copy: migrations never import application code
    cache_ok = True

    def get_col_spec(self, **kw):
        return "XID8"

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assets',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('precision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[A-Z0-9]{2,16}$'", name=op.f('ck_assets_code_format')),
    sa.CheckConstraint('precision BETWEEN 0 AND 18', name=op.f('ck_assets_precision_range')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_assets'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=160), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('balances_view',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('asset', sa.String(length=16), nullable=False),
    sa.Column('available', sa.Numeric(precision=38, scale=18), server_default='0', nullable=False),
    sa.Column('locked', sa.Numeric(precision=38, scale=18), server_default='0', nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'asset', name=op.f('pk_balances_view'))
    )
    op.create_table('events',
    sa.Column('position', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('xact_id', XID8(), server_default=sa.text('pg_current_xact_id()'), nullable=False),
    sa.Column('stream', sa.String(length=160), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_events'))
    )
    op.create_index('ix_events_stream_position', 'events', ['stream', 'position'], unique=False)
    op.create_index('ix_events_xact_id_position', 'events', ['xact_id', 'position'], unique=False)
    op.create_table('idempotency_keys',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('ledger_entries_view',
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('asset', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('amount', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('transfer_id', sa.String(length=128), nullable=False),
    sa.Column('transfer_kind', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('transfer_id', 'account_id', name=op.f('pk_ledger_entries_view'))
    )
    op.create_index('ix_ledger_entries_view_user_id_position', 'ledger_entries_view', ['user_id', 'position'], unique=False)
    op.create_table('projection_checkpoints',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('xact_id', XID8(), server_default=sa.text("'0'::xid8"), nullable=False),
    sa.Column('position', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_projection_checkpoints'))
    )
    op.create_table('transfers',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    op.create_table('users',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), server_default='user', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('user','admin')", name=op.f('ck_users_role')),
    sa.CheckConstraint("status IN ('active','frozen','locked')", name=op.f('ck_users_status')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('asset', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('balance', sa.Numeric(precision=38, scale=18), server_default='0', nullable=False),
    sa.Column('may_go_negative', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("(user_id IS NULL) = (kind IN ('fees','insurance_fund','external'))", name=op.f('ck_ledger_accounts_owner_kind')),
    sa.CheckConstraint("balance <> 'NaN'::numeric", name=op.f('ck_ledger_accounts_balance_not_nan')),
    sa.CheckConstraint('may_go_negative OR balance >= 0', name=op.f('ck_ledger_accounts_non_negative')),
    sa.CheckConstraint("NOT may_go_negative OR kind = 'external'", name=op.f('ck_ledger_accounts_only_external_negative')),
    sa.ForeignKeyConstraint(['asset'], ['assets.code'], name=op.f('fk_ledger_accounts_asset_assets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ledger_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('asset', 'user_id', 'kind', name=op.f('uq_ledger_accounts_asset'), postgresql_nulls_not_distinct=True)
    )
    op.create_table('markets',
    sa.Column('symbol', sa.String(length=33), nullable=False),
    sa.Column('base', sa.String(length=16), nullable=False),
    sa.Column('quote', sa.String(length=16), nullable=False),
    sa.Column('tick_size', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('step_size', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('min_quantity', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('max_quantity', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('min_notional', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('maker_fee', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('taker_fee', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('price_band', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('market_protection', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='ENABLED', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("maker_fee <> 'NaN'::numeric", name=op.f('ck_markets_maker_fee_not_nan')),
    sa.CheckConstraint("market_protection <> 'NaN'::numeric", name=op.f('ck_markets_market_protection_not_nan')),
    sa.CheckConstraint("max_quantity <> 'NaN'::numeric", name=op.f('ck_markets_max_quantity_not_nan')),
    sa.CheckConstraint("min_notional <> 'NaN'::numeric", name=op.f('ck_markets_min_notional_not_nan')),
    sa.CheckConstraint("min_quantity <> 'NaN'::numeric", name=op.f('ck_markets_min_quantity_not_nan')),
    sa.CheckConstraint("price_band <> 'NaN'::numeric", name=op.f('ck_markets_price_band_not_nan')),
    sa.CheckConstraint("status IN ('ENABLED','POST_ONLY','LIMIT_ONLY','CANCEL_ONLY','DISABLED')", name=op.f('ck_markets_status')),
    sa.CheckConstraint("step_size <> 'NaN'::numeric", name=op.f('ck_markets_step_size_not_nan')),
    sa.CheckConstraint("taker_fee <> 'NaN'::numeric", name=op.f('ck_markets_taker_fee_not_nan')),
    sa.CheckConstraint("tick_size <> 'NaN'::numeric", name=op.f('ck_markets_tick_size_not_nan')),
    sa.CheckConstraint('base <> quote', name=op.f('ck_markets_distinct_assets')),
    sa.CheckConstraint('tick_size > 0 AND step_size > 0', name=op.f('ck_markets_positive_increments')),
    sa.ForeignKeyConstraint(['base'], ['assets.code'], name=op.f('fk_markets_base_assets')),
    sa.ForeignKeyConstraint(['quote'], ['assets.code'], name=op.f('fk_markets_quote_assets')),
    sa.PrimaryKeyConstraint('symbol', name=op.f('pk_markets'))
    )
    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_sessions')),
    sa.UniqueConstraint('id', name=op.f('uq_sessions_id'))
    )
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'], unique=False)
    op.create_table('postings',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('transfer_id', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.CheckConstraint("amount <> 'NaN'::numeric", name=op.f('ck_postings_amount_not_nan')),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_postings_non_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_postings_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_postings_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    op.create_index('ix_postings_account_id_id', 'postings', ['account_id', 'id'], unique=False)
    op.create_index(op.f('ix_postings_transfer_id'), 'postings', ['transfer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_postings_transfer_id'), table_name='postings')
    op.drop_index('ix_postings_account_id_id', table_name='postings')
    op.drop_table('postings')
    op.drop_index(op.f('ix_sessions_user_id'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_table('markets')
    op.drop_table('ledger_accounts')
    op.drop_table('users')
    op.drop_table('transfers')
    op.drop_table('projection_checkpoints')
    op.drop_index('ix_ledger_entries_view_user_id_position', table_name='ledger_entries_view')
    op.drop_table('ledger_entries_view')
    op.drop_table('idempotency_keys')
    op.drop_index('ix_events_xact_id_position', table_name='events')
    op.drop_index('ix_events_stream_position', table_name='events')
    op.drop_table('events')
    op.drop_table('balances_view')
    op.drop_table('audit_log')
    op.drop_table('assets')
