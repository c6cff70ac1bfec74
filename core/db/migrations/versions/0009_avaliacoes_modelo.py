"""Evaluation of a new model on held-out conversations before it goes into use.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from core.db.tables import utc_now

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'executando'")


def upgrade() -> None:
    op.create_table(
        "avaliacoes_modelo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fine_tuning_job_id", sa.Integer(), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("modelo_candidato", sa.String(length=200), nullable=False),
        sa.Column("endpoint_candidato", sa.String(length=500), nullable=True),
        sa.Column("modelo_atual", sa.String(length=200), nullable=False),
        sa.Column("endpoint_atual", sa.String(length=500), nullable=True),
        sa.Column("modelo_juiz", sa.String(length=200), nullable=True),
        sa.Column("endpoint_juiz", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="executando", nullable=False),
        sa.Column("decisao", sa.String(length=30), nullable=True),
        sa.Column("exemplos", sa.Integer(), server_default="0", nullable=False),
        sa.Column("resumo", sa.Text(), server_default="{}", nullable=False),
        sa.Column("custo_usd", sa.Numeric(12, 6), nullable=True),
        sa.Column("erro", sa.Text(), nullable=True),
        sa.Column("criada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.Column("concluida_em", sa.DateTime(), nullable=True),
        sa.Column("criada_por", sa.String(length=50), nullable=True),
        sa.Column("decidida_por", sa.String(length=50), nullable=True),
        sa.Column("decidida_em", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('executando', 'concluida', 'falhou')",
                           name=op.f("ck_avaliacoes_modelo_status")),
        sa.CheckConstraint("decisao IN ('aprovado', 'aguardando_aprovacao', 'rejeitado')",
                           name=op.f("ck_avaliacoes_modelo_decisao")),
        sa.ForeignKeyConstraint(["fine_tuning_job_id"], ["fine_tuning_jobs.id"],
                                name=op.f("fk_avaliacoes_modelo_fine_tuning_job_id_fine_tuning_jobs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"],
                                name=op.f("fk_avaliacoes_modelo_cliente_id_clientes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_avaliacoes_modelo")),
    )
    op.create_index("ix_avaliacoes_modelo_job", "avaliacoes_modelo", ["fine_tuning_job_id", "id"])
    op.create_index("ix_avaliacoes_modelo_cliente", "avaliacoes_modelo", ["cliente_id", "id"])
    op.create_index("uq_avaliacoes_modelo_job_executando", "avaliacoes_modelo",
                    ["fine_tuning_job_id"], unique=True,
                    postgresql_where=RUNNING, sqlite_where=RUNNING)
    op.create_table(
        "avaliacoes_exemplos",
        sa.Column("avaliacao_id", sa.Integer(), nullable=False),
        sa.Column("indice", sa.Integer(), nullable=False),
        sa.Column("linha", sa.Integer(), nullable=False),
        sa.Column("pergunta", sa.Text(), server_default="", nullable=False),
        sa.Column("contexto", sa.Text(), nullable=False),
        sa.Column("resposta_curada", sa.Text(), nullable=False),
        sa.Column("resposta_candidato", sa.Text(), nullable=True),
        sa.Column("resposta_atual", sa.Text(), nullable=True),
        sa.Column("problemas_candidato", sa.Text(), nullable=True),
        sa.Column("problemas_atual", sa.Text(), nullable=True),
        sa.Column("chrf_candidato", sa.Float(), nullable=True),
        sa.Column("chrf_atual", sa.Float(), nullable=True),
        sa.Column("juiz", sa.Text(), nullable=True),
        sa.Column("uso", sa.Text(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(["avaliacao_id"], ["avaliacoes_modelo.id"],
                                name=op.f("fk_avaliacoes_exemplos_avaliacao_id_avaliacoes_modelo"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("avaliacao_id", "indice", name=op.f("pk_avaliacoes_exemplos")),
    )


def downgrade() -> None:
    op.drop_table("avaliacoes_exemplos")
    op.drop_index("uq_avaliacoes_modelo_job_executando", table_name="avaliacoes_modelo",
                  postgresql_where=RUNNING, sqlite_where=RUNNING)
    op.drop_index("ix_avaliacoes_modelo_cliente", table_name="avaliacoes_modelo")
    op.drop_index("ix_avaliacoes_modelo_job", table_name="avaliacoes_modelo")
    op.drop_table("avaliacoes_modelo")
