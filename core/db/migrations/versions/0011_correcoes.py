"""Corrections of bot answers: what the bot should have said (training data, SFT and DPO),
and the training method of a fine-tuning job (sft | dpo).

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

from core.db.tables import utc_now

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "correcoes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.Column("mensagem_id", BIG_ID, nullable=False),
        sa.Column("resposta_correta", sa.Text(), nullable=False),
        sa.Column("criada_por", sa.String(length=50), nullable=True),
        sa.Column("criada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.Column("atualizada_por", sa.String(length=50), nullable=True),
        sa.Column("atualizada_em", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"], ondelete="CASCADE",
                                name=op.f("fk_correcoes_cliente_id_clientes")),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"], ondelete="CASCADE",
                                name=op.f("fk_correcoes_conversa_id_conversas")),
        sa.ForeignKeyConstraint(["mensagem_id"], ["mensagens.id"], ondelete="CASCADE",
                                name=op.f("fk_correcoes_mensagem_id_mensagens")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correcoes")),
        sa.UniqueConstraint("mensagem_id", name=op.f("uq_correcoes_mensagem_id")),
    )
    op.create_index("ix_correcoes_cliente_conversa", "correcoes", ["cliente_id", "conversa_id"])
    op.create_index("ix_correcoes_conversa", "correcoes", ["conversa_id"])
    with op.batch_alter_table("fine_tuning_jobs") as batch:
        batch.add_column(sa.Column("metodo", sa.String(length=10), server_default="sft",
                                   nullable=False))
        batch.create_check_constraint(op.f("ck_fine_tuning_jobs_metodo"), "metodo IN ('sft', 'dpo')")


def downgrade() -> None:
    with op.batch_alter_table("fine_tuning_jobs") as batch:
        batch.drop_constraint(op.f("ck_fine_tuning_jobs_metodo"), type_="check")
        batch.drop_column("metodo")
    op.drop_index("ix_correcoes_conversa", table_name="correcoes")
    op.drop_index("ix_correcoes_cliente_conversa", table_name="correcoes")
    op.drop_table("correcoes")
