"""The model a bot uses: provider and endpoint per cliente, contingency, deployment of a
finished job, shutdown dates.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IMPLANTACAO = ("implantacao IN ('pendente', 'aplicado', 'aguardando_aprovacao', 'rejeitado', "
               "'falhou')")


def upgrade() -> None:
    with op.batch_alter_table("clientes") as batch:
        batch.add_column(sa.Column("provedor", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("modelo_endpoint", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("modelo_contingencia", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("modelo_contingencia_endpoint", sa.String(length=500),
                                   nullable=True))
    with op.batch_alter_table("modelos_historico") as batch:
        batch.add_column(sa.Column("endpoint_anterior", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("endpoint_novo", sa.String(length=500), nullable=True))
    with op.batch_alter_table("fine_tuning_jobs") as batch:
        batch.add_column(sa.Column("implantacao", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("modelo_implantado", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("endpoint_implantado", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("implantacao_erro", sa.Text(), nullable=True))
        batch.add_column(sa.Column("implantacao_tentativas", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("implantacao_proxima_em", sa.DateTime(), nullable=True))
        batch.create_check_constraint(op.f("ck_fine_tuning_jobs_implantacao"), IMPLANTACAO)
    op.create_table(
        "modelos_desligamento",
        sa.Column("modelo", sa.String(length=200), nullable=False),
        sa.Column("provedor", sa.String(length=30), nullable=False),
        sa.Column("desligamento", sa.Date(), nullable=True),
        sa.Column("fonte", sa.String(length=20), nullable=False),
        sa.Column("atualizado_em", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("modelo", name=op.f("pk_modelos_desligamento")),
    )


def downgrade() -> None:
    op.drop_table("modelos_desligamento")
    with op.batch_alter_table("fine_tuning_jobs") as batch:
        batch.drop_constraint(op.f("ck_fine_tuning_jobs_implantacao"), type_="check")
        for column in ("implantacao_proxima_em", "implantacao_tentativas", "implantacao_erro",
                       "endpoint_implantado", "modelo_implantado", "implantacao"):
            batch.drop_column(column)
    with op.batch_alter_table("modelos_historico") as batch:
        batch.drop_column("endpoint_novo")
        batch.drop_column("endpoint_anterior")
    with op.batch_alter_table("clientes") as batch:
        for column in ("modelo_contingencia_endpoint", "modelo_contingencia", "modelo_endpoint",
                       "provedor"):
            batch.drop_column(column)
