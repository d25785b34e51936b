"""The registry store's tables (SQLAlchemy Core); Alembic's migrations create them.

Nothing is ever deleted or overwritten: a publish adds one ``versions`` row and its
``version_rows``; the only update is ``superseded_by`` (set once, from NULL, in the same
transaction that adds the version that supersedes it) and a steward's ``revoked_at`` (set
once). The 2007 rows are version 0 of every organisation; they live in the package's
registry files, not here.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: One row per published list: organisation, number (1, 2, … per organisation; 0 is the
#: 2007 report), when, by which steward key, the file's sha256 and row counts.
#: ``rows_from`` is the number whose rows these are (its own number; an earlier one for
#: a rollback, 0 for the 2007 rows).
versions = sa.Table(
    "versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("organisation", sa.String(40), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("steward_key_id", sa.String(40), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("rows_used", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("rows_from", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("superseded_by", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.UniqueConstraint("organisation", "number", name="uq_versions_organisation_number"),
)

#: The rows of each version, in registry form (one JSON object per row), in list order.
version_rows = sa.Table(
    "version_rows", metadata,
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
)

#: Steward keys: id (shown), organisation, the scrypt hash of the secret (never the key).
stewards = sa.Table(
    "stewards", metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("organisation", sa.String(40), nullable=False),
    sa.Column("key_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)
