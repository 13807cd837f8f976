"""The SQL schema (SQLAlchemy Core). Bump ``SCHEMA_VERSION`` in ``_base`` with every change."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

meta = sa.Table(
    "hk_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

studies = sa.Table(
    "hk_studies", metadata,
    sa.Column("study_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_name", sa.String(512), nullable=False, unique=True),
    sa.Column("direction", sa.Integer, nullable=False),
    sa.Column("next_trial_number", sa.Integer, nullable=False, default=0),
    sa.Column("datetime_start", sa.DateTime, nullable=False),
    sqlite_autoincrement=True,  # never reuse the id of a deleted study: caches key on it
)

study_attrs = sa.Table(
    "hk_study_attrs", metadata,
    sa.Column("study_id", sa.Integer, sa.ForeignKey("hk_studies.study_id"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value_json", sa.Text, nullable=False),
)

trials = sa.Table(
    "hk_trials", metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("hk_studies.study_id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.Integer, nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("datetime_start", sa.DateTime, nullable=True),
    sa.Column("datetime_complete", sa.DateTime, nullable=True),
    sa.Column("heartbeat", sa.DateTime, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="hk_trials_study_number"),
    sa.Index("hk_trials_study_state", "study_id", "state"),
    sqlite_autoincrement=True,
)

trial_params = sa.Table(
    "hk_trial_params", metadata,
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("hk_trials.trial_id"), primary_key=True),
    sa.Column("name", sa.String(512), primary_key=True),
    sa.Column("internal_value", sa.Float(precision=53), nullable=False),
    sa.Column("distribution_json", sa.Text, nullable=False),
)

# Reported values may be NaN or infinite; SQLite turns NaN into NULL, so ``special`` keeps them.
trial_intermediate = sa.Table(
    "hk_trial_intermediate", metadata,
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("hk_trials.trial_id"), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("special", sa.String(4), nullable=True),
)

trial_attrs = sa.Table(
    "hk_trial_attrs", metadata,
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("hk_trials.trial_id"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value_json", sa.Text, nullable=False),
)

# Schema version 2: several objectives. The first objective keeps its place (hk_studies.direction,
# hk_trials.value), so one-objective studies are stored exactly as in version 1; objectives
# 1, 2, ... of a multi-objective study get a row each here.
study_directions = sa.Table(
    "hk_study_directions", metadata,
    sa.Column("study_id", sa.Integer, sa.ForeignKey("hk_studies.study_id"), primary_key=True),
    sa.Column("objective", sa.Integer, primary_key=True),
    sa.Column("direction", sa.Integer, nullable=False),
)

trial_values = sa.Table(
    "hk_trial_values", metadata,
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("hk_trials.trial_id"), primary_key=True),
    sa.Column("objective", sa.Integer, primary_key=True),
    sa.Column("value", sa.Float(precision=53), nullable=False),
)
