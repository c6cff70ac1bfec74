"""Search: pt-BR word forms on SQLite, snippets, and a queue of documents built after the writes.

SQLite: FTS5 has no Portuguese stemmer, so its index now holds `conversas_busca.termos`,
the Snowball Portuguese stem of each word of the document (PostgreSQL's algorithm),
computed in Python by core.review.search_index; the FTS5 table reads `documento` (the
text) for snippets. Its triggers on `mensagens` only queue the conversa in
`busca_pendentes`; update_search builds the queued documents (the import calls it before
it ends), and this migration rebuilds every document once.

PostgreSQL keeps 0004's statement triggers (its documents are computed by the database
inside the import's parallel writers; building them after the import measured slower on
two cores, docs/BENCHMARKS.md) and gains the text search configuration `curadoria_pt`
(portuguese with unaccent per word) for ts_headline on the original text. The queue table
exists there too, for any conversa a tool wants rebuilt.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PG_UPGRADE = """
CREATE TEXT SEARCH CONFIGURATION curadoria_pt (COPY = portuguese);
ALTER TEXT SEARCH CONFIGURATION curadoria_pt
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem;
"""

PG_DOWNGRADE = "DROP TEXT SEARCH CONFIGURATION curadoria_pt;"

QUEUE = "INSERT INTO busca_pendentes (conversa_id, marcada_em) VALUES (NEW.conversa_id, datetime('now')) " \
        "ON CONFLICT (conversa_id) DO NOTHING;"

SQLITE_DROP_OLD = [
    "DROP TRIGGER trg_conversas_busca_delete",
    "DROP TRIGGER trg_conversas_busca_update",
    "DROP TRIGGER trg_conversas_busca_insert",
    "DROP TRIGGER trg_conversas_fts_update",
    "DROP TRIGGER trg_conversas_fts_delete",
    "DROP TRIGGER trg_conversas_fts_insert",
    "DROP TABLE conversas_fts",
]

SQLITE_FTS = """CREATE VIRTUAL TABLE conversas_fts USING fts5(
    documento, content='conversas_busca', content_rowid='conversa_id',
    tokenize='unicode61 remove_diacritics 2')"""


def _sqlite_fts_triggers(column: str) -> list[str]:
    """Keep the FTS index of `column` right whoever writes conversas_busca."""
    return [
        f"""CREATE TRIGGER trg_conversas_fts_insert AFTER INSERT ON conversas_busca BEGIN
            INSERT INTO conversas_fts (rowid, documento) VALUES (NEW.conversa_id, NEW.{column});
        END""",
        f"""CREATE TRIGGER trg_conversas_fts_delete AFTER DELETE ON conversas_busca BEGIN
            INSERT INTO conversas_fts (conversas_fts, rowid, documento)
            VALUES ('delete', OLD.conversa_id, OLD.{column});
        END""",
        f"""CREATE TRIGGER trg_conversas_fts_update AFTER UPDATE OF {column} ON conversas_busca BEGIN
            INSERT INTO conversas_fts (conversas_fts, rowid, documento)
            VALUES ('delete', OLD.conversa_id, OLD.{column});
            INSERT INTO conversas_fts (rowid, documento) VALUES (NEW.conversa_id, NEW.{column});
        END""",
    ]


SQLITE_QUEUE_TRIGGERS = [
    f"""CREATE TRIGGER trg_busca_pendentes_insert AFTER INSERT ON mensagens BEGIN {QUEUE} END""",
    f"""CREATE TRIGGER trg_busca_pendentes_update AFTER UPDATE OF conteudo, conversa_id, enviada_em
        ON mensagens BEGIN {QUEUE} {QUEUE.replace('NEW.', 'OLD.')} END""",
    f"""CREATE TRIGGER trg_busca_pendentes_delete AFTER DELETE ON mensagens BEGIN
        {QUEUE.replace('NEW.', 'OLD.')} END""",
]

# 0004's triggers on mensagens, for the downgrade.
SQLITE_COLS = "conversa_id, cliente_id, iniciada_em, status, avaliacao, documento"


def _sqlite_rebuild(conversa: str) -> str:
    return f"""
    DELETE FROM conversas_busca WHERE conversa_id = {conversa}
        AND NOT EXISTS (SELECT 1 FROM mensagens WHERE conversa_id = {conversa});
    UPDATE conversas_busca SET documento = (
        SELECT group_concat(conteudo, ' ') FROM
            (SELECT conteudo FROM mensagens WHERE conversa_id = {conversa} ORDER BY enviada_em, id))
    WHERE conversa_id = {conversa};"""


SQLITE_0004_TRIGGERS = [
    f"""CREATE TRIGGER trg_conversas_busca_insert AFTER INSERT ON mensagens BEGIN
        INSERT INTO conversas_busca ({SQLITE_COLS})
        SELECT id, cliente_id, iniciada_em, status, avaliacao, NEW.conteudo
        FROM conversas WHERE id = NEW.conversa_id
        ON CONFLICT (conversa_id) DO UPDATE SET documento = documento || ' ' || excluded.documento;
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
]


def upgrade() -> None:
    op.create_table(
        "busca_pendentes",
        sa.Column("conversa_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("marcada_em", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversa_id", name=op.f("pk_busca_pendentes")),
    )
    op.add_column("conversas_busca", sa.Column("termos", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UPGRADE)
        return
    # Every document again, with its stems (computed in Python: SQLite has no stemmer).
    for statement in [*SQLITE_DROP_OLD, "DELETE FROM conversas_busca", SQLITE_FTS,
                      *_sqlite_fts_triggers("termos"), *SQLITE_QUEUE_TRIGGERS]:
        op.execute(statement)
    op.execute("INSERT INTO busca_pendentes (conversa_id, marcada_em) "
               "SELECT DISTINCT conversa_id, datetime('now') FROM mensagens")
    from core.review.search_index import refresh_all

    refresh_all(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWNGRADE)
    else:
        for name in ("trg_busca_pendentes_delete", "trg_busca_pendentes_update",
                     "trg_busca_pendentes_insert", "trg_conversas_fts_update",
                     "trg_conversas_fts_delete", "trg_conversas_fts_insert"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE conversas_fts")
        op.execute("DELETE FROM conversas_busca")
        op.execute("ALTER TABLE conversas_busca DROP COLUMN termos")
        op.execute(SQLITE_FTS)
        for statement in [*_sqlite_fts_triggers("documento"), *SQLITE_0004_TRIGGERS]:
            op.execute(statement)
        op.execute(f"""INSERT INTO conversas_busca ({SQLITE_COLS})
            SELECT c.id, c.cliente_id, c.iniciada_em, c.status, c.avaliacao, d.documento
            FROM (SELECT conversa_id, group_concat(conteudo, ' ') AS documento FROM
                    (SELECT conversa_id, conteudo FROM mensagens ORDER BY conversa_id, enviada_em, id)
                  GROUP BY conversa_id) AS d
            JOIN conversas c ON c.id = d.conversa_id""")
        op.drop_table("busca_pendentes")
        return
    op.drop_column("conversas_busca", "termos")
    op.drop_table("busca_pendentes")
