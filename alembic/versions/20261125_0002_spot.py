"""spot

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 03:56:41.275660
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import UserDefinedType


class XID8(UserDefinedType):  # frozen copy: migrations never import application code
    cache_ok = True

    def get_col_spec(self, **kw):
        return "XID8"


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('candles_view',
    sa.Column('market', sa.String(length=33), nullable=False),
    sa.Column('interval', sa.String(length=3), nullable=False),
    sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('high', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('low', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('close', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('volume', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('quote_volume', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('trades', sa.BigInteger(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('market', 'interval', 'bucket', name=op.f('pk_candles_view'))
    )
    op.create_table('fills',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('market', sa.String(length=33), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('price', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('quote_quantity', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('taker_side', sa.String(length=4), nullable=False),
    sa.Column('maker_order_id', sa.BigInteger(), nullable=False),
    sa.Column('taker_order_id', sa.BigInteger(), nullable=False),
    sa.Column('maker_user_id', sa.UUID(), nullable=False),
    sa.Column('taker_user_id', sa.UUID(), nullable=False),
    sa.Column('maker_fee', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('maker_fee_asset', sa.String(length=16), nullable=False),
    sa.Column('taker_fee', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('taker_fee_asset', sa.String(length=16), nullable=False),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fills')),
    sa.UniqueConstraint('market', 'sequence', name=op.f('uq_fills_market'))
    )
    op.create_index(op.f('ix_fills_maker_order_id'), 'fills', ['maker_order_id'], unique=False)
    op.create_index('ix_fills_maker_user_id_id', 'fills', ['maker_user_id', 'id'], unique=False)
    op.create_index(op.f('ix_fills_taker_order_id'), 'fills', ['taker_order_id'], unique=False)
    op.create_index('ix_fills_taker_user_id_id', 'fills', ['taker_user_id', 'id'], unique=False)
    op.create_table('order_book_sequence_view',
    sa.Column('market', sa.String(length=33), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('market', name=op.f('pk_order_book_sequence_view'))
    )
    op.create_table('order_book_view',
    sa.Column('market', sa.String(length=33), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('price', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.PrimaryKeyConstraint('market', 'side', 'price', name=op.f('pk_order_book_view'))
    )
    op.create_table('market_state',
    sa.Column('market', sa.String(length=33), nullable=False),
    sa.Column('epoch', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('input_xact_id', XID8(), server_default=sa.text("'0'::xid8"), nullable=False),
    sa.Column('input_position', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sequence', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('batch', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('engine_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_price', sa.Numeric(precision=38, scale=18), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['market'], ['markets.symbol'], name=op.f('fk_market_state_market_markets')),
    sa.PrimaryKeyConstraint('market', name=op.f('pk_market_state'))
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('owner', sa.BigInteger(), nullable=False),
    sa.Column('market', sa.String(length=33), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('time_in_force', sa.String(length=3), nullable=False),
    sa.Column('post_only', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('self_trade_prevention', sa.String(length=16), nullable=False),
    sa.Column('price', sa.Numeric(precision=38, scale=18), nullable=True),
    sa.Column('stop_price', sa.Numeric(precision=38, scale=18), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=38, scale=18), nullable=True),
    sa.Column('quote_quantity', sa.Numeric(precision=38, scale=18), nullable=True),
    sa.Column('filled_quantity', sa.Numeric(precision=38, scale=18), server_default='0', nullable=False),
    sa.Column('filled_quote_quantity', sa.Numeric(precision=38, scale=18), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='PENDING_NEW', nullable=False),
    sa.Column('expiry_reason', sa.String(length=40), nullable=True),
    sa.Column('oco_group_id', sa.BigInteger(), nullable=True),
    sa.Column('oco_sibling_id', sa.BigInteger(), nullable=True),
    sa.Column('hold_asset', sa.String(length=16), nullable=False),
    sa.Column('hold_amount', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('hold_remaining', sa.Numeric(precision=38, scale=18), nullable=False),
    sa.Column('priority', sa.BigInteger(), nullable=True),
    sa.Column('triggered', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('stop_rises', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("filled_quantity <> 'NaN'::numeric", name=op.f('ck_orders_filled_quantity_not_nan')),
    sa.CheckConstraint("filled_quote_quantity <> 'NaN'::numeric", name=op.f('ck_orders_filled_quote_quantity_not_nan')),
    sa.CheckConstraint("hold_remaining <> 'NaN'::numeric", name=op.f('ck_orders_hold_remaining_not_nan')),
    sa.CheckConstraint("side IN ('BUY','SELL')", name=op.f('ck_orders_side')),
    sa.CheckConstraint("status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED','FILLED','CANCELED','EXPIRED','REJECTED')", name=op.f('ck_orders_status')),
    sa.CheckConstraint("time_in_force IN ('GTC','IOC','FOK')", name=op.f('ck_orders_tif')),
    sa.CheckConstraint("type IN ('MARKET','LIMIT','STOP_MARKET','STOP_LIMIT')", name=op.f('ck_orders_type')),
    sa.CheckConstraint('hold_remaining >= 0 AND hold_remaining <= hold_amount', name=op.f('ck_orders_hold_range')),
    sa.ForeignKeyConstraint(['market'], ['markets.symbol'], name=op.f('fk_orders_market_markets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('user_id', 'client_order_id', name=op.f('uq_orders_user_id'))
    )
    op.create_index('ix_orders_market_open', 'orders', ['market', 'status'], unique=False, postgresql_where=sa.text("status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED')"))
    op.create_index('ix_orders_user_id_id', 'orders', ['user_id', 'id'], unique=False)
    op.create_index('ix_events_stream_xact_id_position', 'events', ['stream', 'xact_id', 'position'], unique=False)
    op.add_column('users', sa.Column('number', sa.BigInteger(), sa.Identity(always=False), nullable=False))
    op.create_unique_constraint(op.f('uq_users_number'), 'users', ['number'])



def downgrade() -> None:

    op.drop_constraint(op.f('uq_users_number'), 'users', type_='unique')
    op.drop_column('users', 'number')
    op.drop_index('ix_events_stream_xact_id_position', table_name='events')
    op.drop_index('ix_orders_user_id_id', table_name='orders')
    op.drop_index('ix_orders_market_open', table_name='orders', postgresql_where=sa.text("status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED')"))
    op.drop_table('orders')
    op.drop_table('market_state')
    op.drop_table('order_book_view')
    op.drop_table('order_book_sequence_view')
    op.drop_index('ix_fills_taker_user_id_id', table_name='fills')
    op.drop_index(op.f('ix_fills_taker_order_id'), table_name='fills')
    op.drop_index('ix_fills_maker_user_id_id', table_name='fills')
    op.drop_index(op.f('ix_fills_maker_order_id'), table_name='fills')
    op.drop_table('fills')
    op.drop_table('candles_view')

