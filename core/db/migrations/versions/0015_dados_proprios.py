"""The cliente's own public details (phones, e-mails, CNPJ, address, CEP, Pix key): the
training file's redaction keeps them in the bot's answers.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COLUMNS = (
    ("proprio_telefones", sa.Text()),
    ("proprio_emails", sa.Text()),
    ("proprio_cnpj", sa.String(length=32)),
    ("proprio_endereco", sa.Text()),
    ("proprio_cep", sa.String(length=16)),
    ("proprio_chave_pix", sa.String(length=200)),
)


def upgrade() -> None:
    with op.batch_alter_table("clientes") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clientes") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
