"""Login sessions of the dashboard (a signed HttpOnly cookie backed by one row each), and
an index for Visão geral's ratings of the last 7 days.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

from core.db.tables import utc_now

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessoes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("administrador_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("entrada_hash", sa.String(length=64), nullable=True),
        sa.Column("carimbo_senha", sa.String(length=64), nullable=False),
        sa.Column("criada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.Column("ultimo_uso_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.Column("expira_em", sa.DateTime(), nullable=False),
        sa.Column("revogada_em", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["administrador_id"], ["administradores.id"],
                                name=op.f("fk_sessoes_administrador_id_administradores"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessoes")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessoes_token_hash")),
        sa.UniqueConstraint("entrada_hash", name=op.f("uq_sessoes_entrada_hash")),
        sqlite_autoincrement=True,  # ids are never reused (a tab keeps its session's id)
    )
    op.create_index("ix_sessoes_administrador", "sessoes", ["administrador_id"])
    op.create_index("ix_avaliacoes_historico_registrado", "avaliacoes_historico",
                    ["registrado_em"])


def downgrade() -> None:
    op.drop_index("ix_avaliacoes_historico_registrado", table_name="avaliacoes_historico")
    op.drop_index("ix_sessoes_administrador", table_name="sessoes")
    op.drop_table("sessoes")
