"""Search: the GIN index of conversas_busca also holds cliente_id (PostgreSQL).

A search filtered by cliente visited in the heap every match of the words in all
clientes to keep that cliente's (e.g. "reembolso": 22,145 matches, 17,138 heap blocks
for the 8,059 of one cliente). With `cliente_id` as a second column of the same GIN index
(btree_gin), the index intersects the words with the cliente and the heap sees only that
cliente's matches. It replaces the single-column index (a multi-column GIN index serves
conditions on any of its columns), so the import still maintains one GIN index; each row
adds one entry (its cliente) to the tsvector's dozens. SQLite: nothing (FTS5).

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("CREATE INDEX ix_conversas_busca_documento_cliente ON conversas_busca "
               "USING gin (documento, cliente_id)")
    op.execute("DROP INDEX ix_conversas_busca_documento")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_conversas_busca_documento ON conversas_busca USING gin (documento)")
    op.execute("DROP INDEX ix_conversas_busca_documento_cliente")
    # btree_gin stays: another schema object may have come to use it since.
