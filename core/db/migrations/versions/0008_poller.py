"""Poller: job leases and backoff, webhook delivery state, poller heartbeats.

Revision ID: 0008
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fine_tuning_jobs") as batch:
        batch.add_column(sa.Column("lease_dono", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("lease_ate", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("verificado_em", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("proxima_verificacao_em", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("falhas_transitorias", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("ultimo_erro_transitorio", sa.Text(), nullable=True))
    with op.batch_alter_table("notificacoes") as batch:
        batch.add_column(sa.Column("webhook_tentativas", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("webhook_proxima_em", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("webhook_erro", sa.Text(), nullable=True))
    op.create_table(
        "poller_heartbeats",
        sa.Column("nome", sa.String(length=120), nullable=False),
        sa.Column("visto_em", sa.DateTime(), nullable=False),
        sa.Column("ciclo_iniciado_em", sa.DateTime(), nullable=True),
        sa.Column("ciclo_concluido_em", sa.DateTime(), nullable=True),
        sa.Column("intervalo_segundos", sa.Integer(), nullable=True),
        sa.Column("resumo", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("nome", name=op.f("pk_poller_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("poller_heartbeats")
    with op.batch_alter_table("notificacoes") as batch:
        for column in ("webhook_erro", "webhook_proxima_em", "webhook_tentativas"):
            batch.drop_column(column)
    with op.batch_alter_table("fine_tuning_jobs") as batch:
        for column in ("ultimo_erro_transitorio", "falhas_transitorias", "proxima_verificacao_em",
                       "verificado_em", "lease_ate", "lease_dono"):
            batch.drop_column(column)
