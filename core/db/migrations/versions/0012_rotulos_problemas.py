"""The admin's labels of detected problems, and the LLM classifier's cache.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from core.db.tables import utc_now

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversas_rotulos",
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("problemas", sa.String(length=200), nullable=False),
        sa.Column("rotulado_por", sa.String(length=100), nullable=False),
        sa.Column("rotulado_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"],
                                name=op.f("fk_conversas_rotulos_conversa_id_conversas"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"],
                                name=op.f("fk_conversas_rotulos_cliente_id_clientes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversa_id", name=op.f("pk_conversas_rotulos")),
    )
    op.create_index("ix_conversas_rotulos_cliente", "conversas_rotulos",
                    ["cliente_id", "conversa_id"])
    op.create_table(
        "classificacoes_llm",
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.Column("versao_prompt", sa.String(length=30), nullable=False),
        sa.Column("modelo", sa.String(length=200), nullable=False),
        sa.Column("conteudo_hash", sa.String(length=64), nullable=False),
        sa.Column("problemas", sa.String(length=200), nullable=False),
        sa.Column("tokens_entrada", sa.Integer(), nullable=False),
        sa.Column("tokens_saida", sa.Integer(), nullable=False),
        sa.Column("classificada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"],
                                name=op.f("fk_classificacoes_llm_conversa_id_conversas"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversa_id", "versao_prompt", "modelo",
                                name=op.f("pk_classificacoes_llm")),
    )


def downgrade() -> None:
    op.drop_table("classificacoes_llm")
    op.drop_index("ix_conversas_rotulos_cliente", table_name="conversas_rotulos")
    op.drop_table("conversas_rotulos")
