"""two-factor authentication

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recovery_codes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name='uq_recovery_codes_user_id_code_hash')
    )
    op.create_index(op.f('ix_recovery_codes_user_id'), 'recovery_codes', ['user_id'], unique=False)
    op.create_table('sms_codes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("purpose IN ('enrol','verify')", name=op.f('ck_sms_codes_purpose')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_sms_codes_attempts_non_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_codes'))
    )
    op.create_index('ix_sms_codes_user_id_created_at', 'sms_codes', ['user_id', 'created_at'], unique=False)
    op.create_table('sms_phones',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("phone ~ '^\\+[1-9][0-9]{6,14}$'", name=op.f('ck_sms_phones_phone_e164')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_phones_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_sms_phones'))
    )
    op.create_table('totp_credentials',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_credentials_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_totp_credentials'))
    )
    op.create_table('user_security',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('withdrawals_locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('second_factor_failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('second_factor_blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_security_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_security'))
    )


def downgrade() -> None:
    op.drop_table('user_security')
    op.drop_table('totp_credentials')
    op.drop_table('sms_phones')
    op.drop_index('ix_sms_codes_user_id_created_at', table_name='sms_codes')
    op.drop_table('sms_codes')
    op.drop_index(op.f('ix_recovery_codes_user_id'), table_name='recovery_codes')
    op.drop_table('recovery_codes')
