"""Analysis of conversas: queue fed by triggers, per-conversa results and problems.

Every message written (by the ingest, the demo loader or any other tool) puts its
conversa in `analise_fila`; `core.review.analysis.analyze_pending` drains it in batches and
writes `conversas_analise` / `conversas_problemas`. Existing conversas are queued here.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from core.db.tables import utc_now

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Statement-level with a transition table: a COPY of a million messages queues each
# conversa once with one grouped insert instead of a million row triggers.
PG_UPGRADE = """
CREATE FUNCTION analise_fila_enfileirar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analise_fila (conversa_id)
    SELECT DISTINCT conversa_id FROM novas ORDER BY 1
    ON CONFLICT (conversa_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER trg_analise_fila_insert AFTER INSERT ON mensagens
    REFERENCING NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION analise_fila_enfileirar();
CREATE TRIGGER trg_analise_fila_update AFTER UPDATE ON mensagens
    REFERENCING NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION analise_fila_enfileirar();

CREATE FUNCTION analise_avaliacao_copiar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversas_analise AS a SET avaliacao = n.avaliacao
    FROM novas AS n JOIN antigas AS o ON o.id = n.id
    WHERE a.conversa_id = n.id AND n.avaliacao IS DISTINCT FROM o.avaliacao;
    UPDATE conversas_problemas AS p SET avaliacao = n.avaliacao
    FROM novas AS n JOIN antigas AS o ON o.id = n.id
    WHERE p.conversa_id = n.id AND n.avaliacao IS DISTINCT FROM o.avaliacao;
    RETURN NULL;
END $$;

CREATE TRIGGER trg_analise_avaliacao AFTER UPDATE ON conversas
    REFERENCING OLD TABLE AS antigas NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION analise_avaliacao_copiar();
"""

PG_DOWNGRADE = """
DROP TRIGGER trg_analise_avaliacao ON conversas;
DROP FUNCTION analise_avaliacao_copiar();
DROP TRIGGER trg_analise_fila_update ON mensagens;
DROP TRIGGER trg_analise_fila_insert ON mensagens;
DROP FUNCTION analise_fila_enfileirar();
"""

SQLITE_UPGRADE = [
    """CREATE TRIGGER trg_analise_fila_insert AFTER INSERT ON mensagens BEGIN
    INSERT OR IGNORE INTO analise_fila (conversa_id) VALUES (NEW.conversa_id);
END""",
    """CREATE TRIGGER trg_analise_fila_update AFTER UPDATE OF conteudo, role, conversa_id
ON mensagens BEGIN
    INSERT OR IGNORE INTO analise_fila (conversa_id) VALUES (NEW.conversa_id);
END""",
    """CREATE TRIGGER trg_analise_avaliacao AFTER UPDATE OF avaliacao ON conversas
WHEN OLD.avaliacao IS NOT NEW.avaliacao BEGIN
    UPDATE conversas_analise SET avaliacao = NEW.avaliacao WHERE conversa_id = NEW.id;
    UPDATE conversas_problemas SET avaliacao = NEW.avaliacao WHERE conversa_id = NEW.id;
END""",
]

SQLITE_DOWNGRADE = ["DROP TRIGGER trg_analise_avaliacao", "DROP TRIGGER trg_analise_fila_update",
                    "DROP TRIGGER trg_analise_fila_insert"]


def upgrade() -> None:
    op.create_table(
        "analise_fila",
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"], ondelete="CASCADE",
                                name=op.f("fk_analise_fila_conversa_id_conversas")),
        sa.PrimaryKeyConstraint("conversa_id", name=op.f("pk_analise_fila")),
    )
    op.create_table(
        "conversas_analise",
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("dia", sa.Date(), nullable=False),
        sa.Column("pergunta", sa.String(length=300), nullable=True),
        sa.Column("topico", sa.String(length=120), nullable=True),
        sa.Column("avaliacao_sugerida", sa.String(length=10), nullable=True),
        sa.Column("avaliacao", sa.String(length=10), nullable=True),
        sa.Column("analisada_em", sa.DateTime(), server_default=utc_now(), nullable=False),
        sa.CheckConstraint("avaliacao_sugerida IN ('boa', 'ruim')",
                           name=op.f("ck_conversas_analise_avaliacao_sugerida")),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"], ondelete="CASCADE",
                                name=op.f("fk_conversas_analise_cliente_id_clientes")),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"], ondelete="CASCADE",
                                name=op.f("fk_conversas_analise_conversa_id_conversas")),
        sa.PrimaryKeyConstraint("conversa_id", name=op.f("pk_conversas_analise")),
    )
    op.create_index("ix_conversas_analise_cliente_topico", "conversas_analise",
                    ["cliente_id", "topico"])
    op.create_index("ix_conversas_analise_avaliacao_topico", "conversas_analise",
                    ["avaliacao", "topico"])
    op.create_table(
        "conversas_problemas",
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.Column("codigo", sa.String(length=30), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("dia", sa.Date(), nullable=False),
        sa.Column("avaliacao", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(["cliente_id"], ["clientes.id"], ondelete="CASCADE",
                                name=op.f("fk_conversas_problemas_cliente_id_clientes")),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"], ondelete="CASCADE",
                                name=op.f("fk_conversas_problemas_conversa_id_conversas")),
        sa.PrimaryKeyConstraint("conversa_id", "codigo", name=op.f("pk_conversas_problemas")),
    )
    op.create_index("ix_conversas_problemas_codigo", "conversas_problemas",
                    ["codigo", "conversa_id"])
    op.create_index("ix_conversas_problemas_cliente_dia", "conversas_problemas",
                    ["cliente_id", "dia"])
    op.create_index("ix_conversas_problemas_avaliacao_codigo", "conversas_problemas",
                    ["avaliacao", "codigo"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UPGRADE)
    else:
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
    # Conversas that exist before this revision are analysed by the next runs.
    op.execute("INSERT INTO analise_fila (conversa_id) SELECT id FROM conversas")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWNGRADE)
    else:
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
    op.drop_index("ix_conversas_problemas_avaliacao_codigo", table_name="conversas_problemas")
    op.drop_index("ix_conversas_problemas_cliente_dia", table_name="conversas_problemas")
    op.drop_index("ix_conversas_problemas_codigo", table_name="conversas_problemas")
    op.drop_table("conversas_problemas")
    op.drop_index("ix_conversas_analise_avaliacao_topico", table_name="conversas_analise")
    op.drop_index("ix_conversas_analise_cliente_topico", table_name="conversas_analise")
    op.drop_table("conversas_analise")
    op.drop_table("analise_fila")
