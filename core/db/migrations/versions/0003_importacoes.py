"""Import runs and rejected Redis entries.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from core.db.tables import utc_now

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "importacoes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("origem", sa.String(length=700), server_default="", nullable=False),
        sa.Column("iniciada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.Column("concluida_em", sa.DateTime(), nullable=True),
        sa.Column("lidas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mensagens_novas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("conversas_novas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("conversas_estendidas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicadas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expiradas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejeitadas", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejeitadas_por_motivo", sa.Text(), server_default="{}", nullable=False),
        sa.Column("posicao_inicial", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("posicao_final", sa.BigInteger(), nullable=True),
        sa.Column("primeira_chave", sa.String(length=300), nullable=True),
        sa.Column("erro", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"],
                                name=op.f("fk_importacoes_cliente_id_clientes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_importacoes")),
    )
    op.create_index("ix_importacoes_cliente", "importacoes", ["cliente_id", "id"])
    op.create_table(
        "entradas_rejeitadas",
        sa.Column("id", BigId, nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("importacao_id", sa.Integer(), nullable=True),
        sa.Column("redis_key", sa.String(length=300), nullable=False),
        sa.Column("motivo", sa.String(length=40), nullable=False),
        sa.Column("trecho", sa.Text(), server_default="", nullable=False),
        sa.Column("registrada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"],
                                name=op.f("fk_entradas_rejeitadas_cliente_id_clientes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["importacao_id"], ["importacoes.id"],
                                name=op.f("fk_entradas_rejeitadas_importacao_id_importacoes"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entradas_rejeitadas")),
        sa.UniqueConstraint("cliente_id", "redis_key", name="uq_entradas_rejeitadas_cliente_redis_key"),
    )
    op.create_index("ix_entradas_rejeitadas_cliente", "entradas_rejeitadas", ["cliente_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_entradas_rejeitadas_cliente", table_name="entradas_rejeitadas")
    op.drop_table("entradas_rejeitadas")
    op.drop_index("ix_importacoes_cliente", table_name="importacoes")
    op.drop_table("importacoes")
