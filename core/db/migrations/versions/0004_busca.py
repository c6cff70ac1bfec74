"""Conversation list indexes and keyword search kept by triggers.

PostgreSQL: `conversas_busca.documento` is a tsvector built with the portuguese
configuration over unaccented text (an IMMUTABLE wrapper around unaccent, so it can be
used in indexes), with a GIN index. SQLite: `conversas_busca.documento` holds the
concatenated text and the FTS5 table `conversas_fts` (remove_diacritics) indexes it.
Triggers on `mensagens` keep it right whoever writes the messages.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIST_INDEXES = [
    ("ix_conversas_iniciada", ["iniciada_em", "id"], ["cliente_id", "status", "avaliacao"]),
    ("ix_conversas_cliente_iniciada", ["cliente_id", "iniciada_em", "id"], ["status", "avaliacao"]),
    ("ix_conversas_avaliacao_iniciada", ["avaliacao", "iniciada_em", "id"], ["cliente_id", "status"]),
    ("ix_conversas_status_iniciada", ["status", "iniciada_em", "id"], ["cliente_id", "avaliacao"]),
]

# Documents are strip()ped of positions: search is AND of words (no phrases, no ranking),
# and the narrower rows make each match cheaper to visit.
# Caps keep a huge message or conversa from exceeding tsvector's 1 MB limit (an error
# there would make the import fail); the text past the cap is simply not searchable.
PG_INSERT_FUNCTION = """
CREATE FUNCTION conversas_busca_anexar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- New messages are appended to their conversa's document.
    INSERT INTO conversas_busca AS b
        (conversa_id, cliente_id, iniciada_em, status, avaliacao, documento)
    SELECT c.id, c.cliente_id, c.iniciada_em, c.status, c.avaliacao, n.documento
    FROM (SELECT conversa_id,
                 curadoria_documento(string_agg(conteudo, ' ' ORDER BY enviada_em, id)) AS documento
          FROM novas GROUP BY conversa_id) AS n
    JOIN conversas c ON c.id = n.conversa_id
    ORDER BY c.id
    ON CONFLICT (conversa_id) DO UPDATE
    SET documento = CASE WHEN pg_column_size(b.documento) < 500000
                         THEN b.documento || EXCLUDED.documento
                         ELSE b.documento END;
    RETURN NULL;
END $$;

CREATE FUNCTION conversas_busca_sincronizar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A rating or status written by any tool reaches the search copy too.
    UPDATE conversas_busca b
    SET cliente_id = n.cliente_id, iniciada_em = n.iniciada_em,
        status = n.status, avaliacao = n.avaliacao
    FROM novas n
    WHERE b.conversa_id = n.id
      AND (b.cliente_id, b.iniciada_em, b.status, b.avaliacao)
          IS DISTINCT FROM (n.cliente_id, n.iniciada_em, n.status, n.avaliacao);
    RETURN NULL;
END $$;
"""

PG_TRIGGERS = """
CREATE TRIGGER trg_conversas_busca_insert AFTER INSERT ON mensagens
    REFERENCING NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_busca_anexar();
CREATE TRIGGER trg_conversas_busca_update AFTER UPDATE ON mensagens
    REFERENCING OLD TABLE AS antigas NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_busca_reconstruir_update();
CREATE TRIGGER trg_conversas_busca_delete AFTER DELETE ON mensagens
    REFERENCING OLD TABLE AS antigas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_busca_reconstruir();
CREATE TRIGGER trg_conversas_busca_sincronizar AFTER UPDATE ON conversas
    REFERENCING NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_busca_sincronizar();
"""


def _pg_rebuild_function(name: str, source: str) -> str:
    """A statement trigger function rebuilding the documents of the conversas in `source`."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM conversas_busca b
    WHERE b.conversa_id IN ({source})
      AND NOT EXISTS (SELECT 1 FROM mensagens m WHERE m.conversa_id = b.conversa_id);
    INSERT INTO conversas_busca AS b
        (conversa_id, cliente_id, iniciada_em, status, avaliacao, documento)
    SELECT c.id, c.cliente_id, c.iniciada_em, c.status, c.avaliacao, d.documento
    FROM (SELECT m.conversa_id,
                 curadoria_documento(string_agg(m.conteudo, ' ' ORDER BY m.enviada_em, m.id))
                     AS documento
          FROM mensagens m WHERE m.conversa_id IN ({source}) GROUP BY m.conversa_id) AS d
    JOIN conversas c ON c.id = d.conversa_id
    ORDER BY c.id
    ON CONFLICT (conversa_id) DO UPDATE SET documento = EXCLUDED.documento;
    RETURN NULL;
END $$;
"""


PG_FUNCTIONS = """
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE FUNCTION curadoria_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

CREATE FUNCTION curadoria_documento(text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT strip(to_tsvector('portuguese'::regconfig, curadoria_unaccent(left($1, 200000)))) $$;
""" + PG_INSERT_FUNCTION + _pg_rebuild_function(
    "conversas_busca_reconstruir", "SELECT conversa_id FROM antigas"
) + _pg_rebuild_function(
    "conversas_busca_reconstruir_update",
    "SELECT conversa_id FROM antigas UNION SELECT conversa_id FROM novas",
)

PG_BACKFILL = """
INSERT INTO conversas_busca (conversa_id, cliente_id, iniciada_em, status, avaliacao, documento)
SELECT c.id, c.cliente_id, c.iniciada_em, c.status, c.avaliacao, d.documento
FROM (SELECT conversa_id,
             curadoria_documento(string_agg(conteudo, ' ' ORDER BY enviada_em, id)) AS documento
      FROM mensagens GROUP BY conversa_id) AS d
JOIN conversas c ON c.id = d.conversa_id;
CREATE INDEX ix_conversas_busca_iniciada ON conversas_busca (iniciada_em, conversa_id);
CREATE INDEX ix_conversas_busca_documento ON conversas_busca USING gin (documento);
"""

PG_DOWNGRADE = """
DROP TRIGGER trg_conversas_busca_sincronizar ON conversas;
DROP FUNCTION conversas_busca_sincronizar();
DROP TRIGGER trg_conversas_busca_delete ON mensagens;
DROP TRIGGER trg_conversas_busca_update ON mensagens;
DROP TRIGGER trg_conversas_busca_insert ON mensagens;
DROP FUNCTION conversas_busca_reconstruir_update();
DROP FUNCTION conversas_busca_reconstruir();
DROP FUNCTION conversas_busca_anexar();
DROP FUNCTION curadoria_documento(text);
DROP FUNCTION curadoria_unaccent(text);
"""


SQLITE_COLS = "conversa_id, cliente_id, iniciada_em, status, avaliacao, documento"


def _sqlite_rebuild(conversa: str) -> str:
    return f"""
    DELETE FROM conversas_busca WHERE conversa_id = {conversa}
        AND NOT EXISTS (SELECT 1 FROM mensagens WHERE conversa_id = {conversa});
    UPDATE conversas_busca SET documento = (
        SELECT group_concat(conteudo, ' ') FROM
            (SELECT conteudo FROM mensagens WHERE conversa_id = {conversa} ORDER BY enviada_em, id))
    WHERE conversa_id = {conversa};"""


SQLITE_UPGRADE = [
    """CREATE VIRTUAL TABLE conversas_fts USING fts5(
        documento, content='conversas_busca', content_rowid='conversa_id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER trg_conversas_fts_insert AFTER INSERT ON conversas_busca BEGIN
        INSERT INTO conversas_fts (rowid, documento) VALUES (NEW.conversa_id, NEW.documento);
    END""",
    """CREATE TRIGGER trg_conversas_fts_delete AFTER DELETE ON conversas_busca BEGIN
        INSERT INTO conversas_fts (conversas_fts, rowid, documento)
        VALUES ('delete', OLD.conversa_id, OLD.documento);
    END""",
    """CREATE TRIGGER trg_conversas_fts_update AFTER UPDATE OF documento ON conversas_busca BEGIN
        INSERT INTO conversas_fts (conversas_fts, rowid, documento)
        VALUES ('delete', OLD.conversa_id, OLD.documento);
        INSERT INTO conversas_fts (rowid, documento) VALUES (NEW.conversa_id, NEW.documento);
    END""",
    f"""CREATE TRIGGER trg_conversas_busca_insert AFTER INSERT ON mensagens BEGIN
        INSERT INTO conversas_busca ({SQLITE_COLS})
        SELECT id, cliente_id, iniciada_em, status, avaliacao, NEW.conteudo
        FROM conversas WHERE id = NEW.conversa_id
        ON CONFLICT (conversa_id) DO UPDATE SET documento = documento || ' ' || excluded.documento;
    END""",
    """CREATE TRIGGER trg_conversas_busca_sincronizar
    AFTER UPDATE OF cliente_id, iniciada_em, status, avaliacao ON conversas BEGIN
        UPDATE conversas_busca SET cliente_id = NEW.cliente_id, iniciada_em = NEW.iniciada_em,
            status = NEW.status, avaliacao = NEW.avaliacao
        WHERE conversa_id = NEW.id;
    END""",
    f"""CREATE TRIGGER trg_conversas_busca_update AFTER UPDATE OF conteudo, conversa_id ON mensagens
    BEGIN
        {_sqlite_rebuild('OLD.conversa_id')}
        INSERT OR IGNORE INTO conversas_busca ({SQLITE_COLS})
        SELECT id, cliente_id, iniciada_em, status, avaliacao, '' FROM conversas
        WHERE id = NEW.conversa_id;
        {_sqlite_rebuild('NEW.conversa_id')}
    END""",
    f"""CREATE TRIGGER trg_conversas_busca_delete AFTER DELETE ON mensagens BEGIN
        {_sqlite_rebuild('OLD.conversa_id')}
    END""",
    f"""INSERT INTO conversas_busca ({SQLITE_COLS})
       SELECT c.id, c.cliente_id, c.iniciada_em, c.status, c.avaliacao, d.documento
       FROM (SELECT conversa_id, group_concat(conteudo, ' ') AS documento FROM
               (SELECT conversa_id, conteudo FROM mensagens ORDER BY conversa_id, enviada_em, id)
             GROUP BY conversa_id) AS d
       JOIN conversas c ON c.id = d.conversa_id""",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER trg_conversas_busca_sincronizar",
    "DROP TRIGGER trg_conversas_busca_delete",
    "DROP TRIGGER trg_conversas_busca_update",
    "DROP TRIGGER trg_conversas_busca_insert",
    "DROP TRIGGER trg_conversas_fts_update",
    "DROP TRIGGER trg_conversas_fts_delete",
    "DROP TRIGGER trg_conversas_fts_insert",
    "DROP TABLE conversas_fts",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, columns, include in LIST_INDEXES:
        op.create_index(name, "conversas", columns, postgresql_include=include)
    op.create_table(
        "conversas_busca",
        sa.Column("conversa_id", sa.Integer(), nullable=False),
        sa.Column("cliente_id", sa.Integer(), nullable=False),
        sa.Column("iniciada_em", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("avaliacao", sa.String(length=10), nullable=True),
        sa.Column("documento", sa.Text().with_variant(TSVECTOR(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["conversa_id"], ["conversas.id"], ondelete="CASCADE",
                                name=op.f("fk_conversas_busca_conversa_id_conversas")),
        sa.PrimaryKeyConstraint("conversa_id", name=op.f("pk_conversas_busca")),
    )
    if postgres:
        op.execute(PG_FUNCTIONS)
        op.execute(PG_TRIGGERS)
        op.execute(PG_BACKFILL)
    else:
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
        op.create_index("ix_conversas_busca_iniciada", "conversas_busca",
                        ["iniciada_em", "conversa_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWNGRADE)
    else:
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
    op.drop_table("conversas_busca")
    for name, _columns, _include in reversed(LIST_INDEXES):
        op.drop_index(name, table_name="conversas")
