"""When a model stops answering: the dates the providers report, kept in the database.

The poller refreshes `modelos_desligamento` from each provider once a day (OpenAI's
`GET /v1/models` gives a `shutdown_date` per model); the built-in catalogue
(core.finetune.catalog) is only the fallback for a model the provider gave no date for.
A fine-tune (``ft:BASE:org:suffix:id``) shuts down with its base model. When a provider
cannot be reached, the last known dates stay.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.formato import plural
from core import clock
from core.clock import local_midnight_utc, utcnow
from core.db import session_scope
from core.db.tables import ModeloDesligamento
from core.finetune import registry
from core.finetune.catalog import MODELS, get_base_model
from core.finetune.provider import ProviderError
from core.logs import log_event

logger = logging.getLogger("curadoria.finetune")

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def today() -> dt.date:
    """The admin's calendar day (tests pass their own `today` to the functions)."""
    return clock.today()


def base_of(modelo: str) -> str:
    """The model a fine-tune was built on (`ft:BASE:org:suffix:id` -> BASE)."""
    if modelo.startswith("ft:") and modelo.count(":") >= 2:
        return modelo.split(":")[1]
    return modelo


def catalogue_date(modelo: str) -> dt.date | None:
    """The built-in catalogue's date for a model, its base, or its alias without snapshot."""
    entry = get_base_model(modelo)
    if entry is None:
        base = base_of(modelo)
        entry = next((m for m in MODELS.values() if _SNAPSHOT.sub("", m.nome) == base), None)
    return entry.desligamento if entry else None


@dataclass(frozen=True)
class Desligamento:
    data: dt.date
    fonte: str  # api | catalogo


KnownDates = dict[str, dt.date | None]


def known_dates(session: Session) -> KnownDates:
    """Every date the providers reported (model id -> date or None)."""
    return dict(session.execute(select(ModeloDesligamento.modelo,
                                       ModeloDesligamento.desligamento)).all())


def resolve_shutdown(modelo: str | None, known: KnownDates) -> Desligamento | None:
    """The date `modelo` stops answering: the provider's (for it, else for its base), else
    the catalogue's; None when nobody knows of one."""
    if not modelo:
        return None
    for nome in dict.fromkeys((modelo, base_of(modelo))):
        if known.get(nome):
            return Desligamento(known[nome], "api")
    data = catalogue_date(modelo)
    return Desligamento(data, "catalogo") if data else None


def shutdown_date(session: Session, modelo: str | None) -> Desligamento | None:
    """`resolve_shutdown` with the dates stored in the database."""
    return resolve_shutdown(modelo, known_dates(session))


def days_left(desligamento: Desligamento | None, hoje: dt.date) -> int | None:
    """Days until the shutdown (0 = today, negative = already shut down)."""
    return None if desligamento is None else (desligamento.data - hoje).days


def _refreshed_today(session: Session, provedor: str, hoje: dt.date) -> bool:
    latest = session.scalar(select(func.max(ModeloDesligamento.atualizado_em))
                            .where(ModeloDesligamento.provedor == provedor,
                                   ModeloDesligamento.fonte == "api"))
    return latest is not None and latest >= local_midnight_utc(hoje)


def store_shutdown_dates(session: Session, provedor: str, datas: KnownDates) -> int:
    """Upsert the provider's dates (rows it no longer lists are kept: last known)."""
    if not datas:
        return 0
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"modelo": m[:200], "provedor": provedor, "desligamento": d, "fonte": "api",
             "atualizado_em": now} for m, d in datas.items()]
    stmt = insert(ModeloDesligamento).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["modelo"],
        set_={"provedor": stmt.excluded.provedor, "desligamento": stmt.excluded.desligamento,
              "fonte": stmt.excluded.fonte, "atualizado_em": stmt.excluded.atualizado_em})
    session.execute(stmt)
    return len(rows)


def refresh_shutdown_dates(engine: Engine, *, hoje: dt.date | None = None,
                           force: bool = False) -> str:
    """Ask every configured provider that knows shutdown dates, once a day (`force`:
    now). A provider that fails is logged and its last known dates stay."""
    hoje = hoje or today()
    feitos = []
    for provedor in registry.provider_names():
        try:
            if registry.configuration_problem(provedor):
                continue
            with session_scope(engine) as session:
                if not force and _refreshed_today(session, provedor, hoje):
                    continue
            datas = registry.list_shutdown_dates(provedor)
        except ProviderError as exc:
            log_event(logger, "desligamento_datas_falhou", provedor=provedor, erro=str(exc),
                      level=logging.WARNING)
            continue
        except ImportError:  # a provider whose SDK is not installed
            continue
        if datas is None:
            continue
        with session_scope(engine) as session:
            n = store_shutdown_dates(session, provedor, datas)
        com_data = sum(1 for d in datas.values() if d)
        log_event(logger, "desligamento_datas", provedor=provedor, modelos=n, com_data=com_data)
        feitos.append(f"{provedor}: {plural(n, 'modelo')}")
    return "; ".join(feitos) or "nada a atualizar"
