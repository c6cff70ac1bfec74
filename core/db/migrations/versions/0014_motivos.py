"""Why a conversa was rated so: an optional short reason and tags on each audit row.

The audit trigger (0002) still writes the row for every rating change, whoever writes it;
core.review.ratings adds the admin's reason to the row its own rating just produced.
An index on (avaliado_por, avaliado_em) serves the per-admin view.

Revision ID: 0014
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("avaliacoes_historico") as batch:
        batch.add_column(sa.Column("motivo", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("tags", sa.String(length=300), nullable=True))
    op.create_index("ix_avaliacoes_historico_por_em", "avaliacoes_historico",
                    ["avaliado_por", "avaliado_em"])


def downgrade() -> None:
    op.drop_index("ix_avaliacoes_historico_por_em", table_name="avaliacoes_historico")
    with op.batch_alter_table("avaliacoes_historico") as batch:
        batch.drop_column("tags")
        batch.drop_column("motivo")
