"""Tracking tables: experiments, runs, params, metric history, latest metrics, tags, datasets.

Revision ID: 0001_tracking
Revises: (none)
Create Date: 2026-11-26 05:34:19.868853
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001_tracking'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('experiments',
    sa.Column('experiment_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('artifact_location', sa.Text(), nullable=False),
    sa.Column('lifecycle_stage', sa.String(length=32), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('experiment_id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('datasets',
    sa.Column('dataset_uuid', sa.String(length=32), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('digest', sa.String(length=36), nullable=False),
    sa.Column('source_type', sa.String(length=36), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('schema', sa.Text(), nullable=True),
    sa.Column('profile', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_uuid'),
    sa.UniqueConstraint('experiment_id', 'name', 'digest', name='uq_datasets_exp_name_digest')
    )
    op.create_table('experiment_tags',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'key')
    )
    op.create_table('runs',
    sa.Column('run_uuid', sa.String(length=32), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('user_id', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start_time', sa.BigInteger(), nullable=False),
    sa.Column('end_time', sa.BigInteger(), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=20), nullable=False),
    sa.Column('artifact_uri', sa.Text(), nullable=False),
    sa.Column('parent_run_id', sa.String(length=32), nullable=True),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_uuid')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_experiment_start', ['experiment_id', 'lifecycle_stage', 'start_time'], unique=False)
        batch_op.create_index('ix_runs_parent', ['parent_run_id'], unique=False)

    op.create_table('latest_metrics',
    sa.Column('run_uuid', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_nan', sa.Boolean(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_uuid'], ['runs.run_uuid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_uuid', 'key')
    )
    with op.batch_alter_table('latest_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_latest_metrics_key_value', ['key', 'value'], unique=False)

    op.create_table('metrics',
    sa.Column('id', sa.Integer().with_variant(sa.BigInteger(), 'postgresql'), autoincrement=True, nullable=False),
    sa.Column('run_uuid', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_nan', sa.Boolean(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_uuid'], ['runs.run_uuid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.create_index('ix_metrics_run_key_step', ['run_uuid', 'key', 'step', 'timestamp'], unique=False)

    op.create_table('params',
    sa.Column('run_uuid', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=6000), nullable=False),
    sa.ForeignKeyConstraint(['run_uuid'], ['runs.run_uuid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_uuid', 'key')
    )
    with op.batch_alter_table('params', schema=None) as batch_op:
        batch_op.create_index('ix_params_key', ['key'], unique=False)

    op.create_table('run_inputs',
    sa.Column('run_uuid', sa.String(length=32), nullable=False),
    sa.Column('dataset_uuid', sa.String(length=32), nullable=False),
    sa.Column('tags_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_uuid'], ['datasets.dataset_uuid'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_uuid'], ['runs.run_uuid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_uuid', 'dataset_uuid')
    )
    op.create_table('tags',
    sa.Column('run_uuid', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_uuid'], ['runs.run_uuid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_uuid', 'key')
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index('ix_tags_key', ['key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index('ix_tags_key')

    op.drop_table('tags')
    op.drop_table('run_inputs')
    with op.batch_alter_table('params', schema=None) as batch_op:
        batch_op.drop_index('ix_params_key')

    op.drop_table('params')
    with op.batch_alter_table('metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_metrics_run_key_step')

    op.drop_table('metrics')
    with op.batch_alter_table('latest_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_latest_metrics_key_value')

    op.drop_table('latest_metrics')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_parent')
        batch_op.drop_index('ix_runs_experiment_start')

    op.drop_table('runs')
    op.drop_table('experiment_tags')
    op.drop_table('datasets')
    op.drop_table('experiments')
