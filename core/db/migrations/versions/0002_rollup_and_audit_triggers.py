"""Triggers: exact counts in conversas_resumo and the audit trail of ratings.

They live in the database so that a rating written by any tool (the platform's own
admin, an analyst's SQL) keeps every counter exact and leaves an audit row.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# PostgreSQL: statement-level triggers with transition tables, so a bulk COPY or a
# large UPDATE adjusts the rollup with one grouped upsert instead of one per row.
# Rows are locked in key order to avoid deadlocks between concurrent writers.
PG_UPGRADE = """
CREATE FUNCTION conversas_resumo_aplicar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO conversas_resumo AS r (cliente_id, dia, status, avaliacao, total)
        SELECT cliente_id, dia, status, COALESCE(avaliacao, 'sem'), count(*)
        FROM novas GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (cliente_id, dia, status, avaliacao)
        DO UPDATE SET total = r.total + EXCLUDED.total;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO conversas_resumo AS r (cliente_id, dia, status, avaliacao, total)
        SELECT cliente_id, dia, status, COALESCE(avaliacao, 'sem'), -count(*)
        FROM antigas GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (cliente_id, dia, status, avaliacao)
        DO UPDATE SET total = r.total + EXCLUDED.total;
    ELSE
        INSERT INTO conversas_resumo AS r (cliente_id, dia, status, avaliacao, total)
        SELECT cliente_id, dia, status, avaliacao, sum(delta)
        FROM (
            SELECT cliente_id, dia, status, COALESCE(avaliacao, 'sem') AS avaliacao, 1 AS delta
            FROM novas
            UNION ALL
            SELECT cliente_id, dia, status, COALESCE(avaliacao, 'sem'), -1 FROM antigas
        ) AS d
        GROUP BY 1, 2, 3, 4 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (cliente_id, dia, status, avaliacao)
        DO UPDATE SET total = r.total + EXCLUDED.total;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER trg_conversas_resumo_insert AFTER INSERT ON conversas
    REFERENCING NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_resumo_aplicar();
CREATE TRIGGER trg_conversas_resumo_update AFTER UPDATE ON conversas
    REFERENCING OLD TABLE AS antigas NEW TABLE AS novas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_resumo_aplicar();
CREATE TRIGGER trg_conversas_resumo_delete AFTER DELETE ON conversas
    REFERENCING OLD TABLE AS antigas
    FOR EACH STATEMENT EXECUTE FUNCTION conversas_resumo_aplicar();

CREATE FUNCTION avaliacoes_historico_registrar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO avaliacoes_historico
        (conversa_id, avaliacao_anterior, avaliacao_nova, avaliado_por, avaliado_em)
    VALUES (NEW.id, OLD.avaliacao, NEW.avaliacao, NEW.avaliado_por, NEW.avaliado_em);
    RETURN NULL;
END $$;

CREATE TRIGGER trg_avaliacoes_historico AFTER UPDATE ON conversas
    FOR EACH ROW
    WHEN (OLD.avaliacao IS DISTINCT FROM NEW.avaliacao
          OR OLD.avaliado_por IS DISTINCT FROM NEW.avaliado_por
          OR OLD.avaliado_em IS DISTINCT FROM NEW.avaliado_em)
    EXECUTE FUNCTION avaliacoes_historico_registrar();
"""

PG_DOWNGRADE = """
DROP TRIGGER trg_avaliacoes_historico ON conversas;
DROP FUNCTION avaliacoes_historico_registrar();
DROP TRIGGER trg_conversas_resumo_delete ON conversas;
DROP TRIGGER trg_conversas_resumo_update ON conversas;
DROP TRIGGER trg_conversas_resumo_insert ON conversas;
DROP FUNCTION conversas_resumo_aplicar();
"""


def _sqlite_adjust(row: str, delta: str) -> str:
    return f"""
    INSERT INTO conversas_resumo (cliente_id, dia, status, avaliacao, total)
    VALUES ({row}.cliente_id, {row}.dia, {row}.status, COALESCE({row}.avaliacao, 'sem'), {delta})
    ON CONFLICT (cliente_id, dia, status, avaliacao) DO UPDATE SET total = total + ({delta});"""


SQLITE_UPGRADE = [
    f"""CREATE TRIGGER trg_conversas_resumo_insert AFTER INSERT ON conversas BEGIN
    {_sqlite_adjust('NEW', '1')}
END""",
    f"""CREATE TRIGGER trg_conversas_resumo_delete AFTER DELETE ON conversas BEGIN
    {_sqlite_adjust('OLD', '-1')}
END""",
    f"""CREATE TRIGGER trg_conversas_resumo_update AFTER UPDATE OF cliente_id, dia, status, avaliacao
ON conversas
WHEN OLD.cliente_id IS NOT NEW.cliente_id OR OLD.dia IS NOT NEW.dia
  OR OLD.status IS NOT NEW.status OR OLD.avaliacao IS NOT NEW.avaliacao
BEGIN
    {_sqlite_adjust('OLD', '-1')}
    {_sqlite_adjust('NEW', '1')}
END""",
    """CREATE TRIGGER trg_avaliacoes_historico AFTER UPDATE ON conversas
WHEN OLD.avaliacao IS NOT NEW.avaliacao OR OLD.avaliado_por IS NOT NEW.avaliado_por
  OR OLD.avaliado_em IS NOT NEW.avaliado_em
BEGIN
    INSERT INTO avaliacoes_historico
        (conversa_id, avaliacao_anterior, avaliacao_nova, avaliado_por, avaliado_em)
    VALUES (NEW.id, OLD.avaliacao, NEW.avaliacao, NEW.avaliado_por, NEW.avaliado_em);
END""",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER trg_avaliacoes_historico",
    "DROP TRIGGER trg_conversas_resumo_update",
    "DROP TRIGGER trg_conversas_resumo_delete",
    "DROP TRIGGER trg_conversas_resumo_insert",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UPGRADE)
    else:
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWNGRADE)
    else:
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
