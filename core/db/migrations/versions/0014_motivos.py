"""Why a conversa was rated so: an optional short reason and tags on each audit row.

The audit trigger (0002) still writes the row for every rating change, whoever writes it;
core.review.ratings adds the admin's reason to the row its own rating just produced.
An index on (avaliado_por, avaliado_em) serves the per-admin view.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("avaliacoes_historico", sa.Column("motivo", sa.String(length=300), nullable=True))
    op.add_column("avaliacoes_historico", sa.Column("tags", sa.String(length=300), nullable=True))
    op.create_index("ix_avaliacoes_historico_por_em", "avaliacoes_historico",
                    ["avaliado_por", "avaliado_em"])


def downgrade() -> None:
    op.drop_index("ix_avaliacoes_historico_por_em", table_name="avaliacoes_historico")
    # Plain ALTER TABLE on both databases: a batch copy of the table would trip over the
    # audit trigger (0002) that names it.
    op.execute("ALTER TABLE avaliacoes_historico DROP COLUMN tags")
    op.execute("ALTER TABLE avaliacoes_historico DROP COLUMN motivo")
