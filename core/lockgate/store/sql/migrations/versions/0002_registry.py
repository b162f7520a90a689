"""Registry tables: registered models, versions, tags, aliases, gate policies, events

Revision ID: 0002_registry
Revises: 0001_tracking
Create Date: 2026-11-26 05:39:12.190153
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_registry'
down_revision = '0001_tracking'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registered_models',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('registry_events',
    sa.Column('id', sa.Integer().with_variant(sa.BigInteger(), 'postgresql'), autoincrement=True, nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('model_name', sa.String(length=256), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('alias', sa.String(length=255), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=True),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('to_version', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=256), nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('override', sa.Boolean(), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('registry_events', schema=None) as batch_op:
        batch_op.create_index('ix_registry_events_model', ['model_id', 'id'], unique=False)
        batch_op.create_index('ix_registry_events_type', ['event_type', 'id'], unique=False)
        batch_op.create_index('ix_registry_events_name', ['model_name', 'id'], unique=False)

    op.create_table('gate_policies',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('target_kind', sa.String(length=8), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('policy_version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('policy', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'target_kind', 'target', 'policy_version')
    )
    op.create_table('model_versions',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('storage_location', sa.Text(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=True),
    sa.Column('experiment_id', sa.String(length=32), nullable=True),
    sa.Column('run_link', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('current_stage', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('user_id', sa.String(length=256), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_time', sa.BigInteger(), nullable=False),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'version')
    )
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index('ix_model_versions_model_stage', ['model_id', 'current_stage'], unique=False)
        batch_op.create_index('ix_model_versions_run', ['run_id'], unique=False)
        batch_op.create_index('ix_model_versions_model_source', ['model_id', 'source'], unique=False)

    op.create_table('registered_model_tags',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=5000), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key')
    )
    with op.batch_alter_table('registered_model_tags', schema=None) as batch_op:
        batch_op.create_index('ix_registered_model_tags_key', ['key'], unique=False)

    op.create_table('model_aliases',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('set_by', sa.String(length=256), nullable=False),
    sa.Column('set_time', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model_id', 'version'], ['model_versions.model_id', 'model_versions.version'], name='fk_model_aliases_version', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'alias')
    )
    op.create_table('model_version_tags',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=5000), nullable=False),
    sa.ForeignKeyConstraint(['model_id', 'version'], ['model_versions.model_id', 'model_versions.version'], name='fk_model_version_tags_version', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'version', 'key')
    )
    with op.batch_alter_table('model_version_tags', schema=None) as batch_op:
        batch_op.create_index('ix_model_version_tags_key', ['key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('model_version_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_model_version_tags_key')

    op.drop_table('model_version_tags')
    op.drop_table('model_aliases')
    with op.batch_alter_table('registered_model_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_registered_model_tags_key')

    op.drop_table('registered_model_tags')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_model_versions_model_source')
        batch_op.drop_index('ix_model_versions_run')
        batch_op.drop_index('ix_model_versions_model_stage')

    op.drop_table('model_versions')
    op.drop_table('gate_policies')
    with op.batch_alter_table('registry_events', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_events_name')
        batch_op.drop_index('ix_registry_events_type')
        batch_op.drop_index('ix_registry_events_model')

    op.drop_table('registry_events')
    op.drop_table('registered_models')
