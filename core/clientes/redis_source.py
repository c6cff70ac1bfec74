"""Which Redis belongs to a cliente, and how to connect to it (the one home of this rule).

The bot keeps a cliente's messages in a Redis of its own: the cliente's `redis_url`, or
the default `REDIS_URL` (settings.redis_url). The database number is the URL's `/N` when
it has one, otherwise `clientes.redis_db`; every key the bot writes starts with
`clientes.redis_prefix`.

A source is the cliente's *own* when it cannot be mistaken for another cliente's: its
own URL, or a key prefix / database number of its own on the default Redis. Only an own
source is imported by the poller (`ingest_all`) and receives the model key the bot reads
(core.finetune.deploy); an import by hand (`ingest --cliente`) takes any source.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis

from core.config import Settings, get_settings
from core.db.tables import Cliente
from core.errors import InvalidInput


@dataclass(frozen=True)
class RedisSource:
    url: str
    db: int
    prefix: str

    @property
    def origem(self) -> str:
        """Identifies the source (password hidden): a new source restarts the list walk."""
        return f"{mask_url(self.url)} db={self.db} prefixo={self.prefix!r}"[:700]


def mask_url(url: str | None) -> str:
    """'redis://:segredo@host:6379/0' -> 'redis://:***@host:6379/0'."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def validate_source(redis_url: str | None, redis_db: int | str | None,
                    redis_prefix: str | None) -> tuple[str | None, int, str]:
    """A cliente's Redis settings, checked and normalized: (URL or None, db, prefix).

    The one check for the Importação and Clientes pages and the command line."""
    redis_url = (redis_url or "").strip() or None
    if redis_url and (len(redis_url) > 500
                      or urlsplit(redis_url).scheme not in ("redis", "rediss", "unix")):
        raise InvalidInput("URL do Redis inválida: use redis://host:porta/N, rediss://... ou unix://...")
    try:
        db = int(redis_db or 0)
    except (TypeError, ValueError):
        db = -1
    if not 0 <= db <= 1_000:
        raise InvalidInput("Número do banco do Redis inválido: use um inteiro a partir de 0.")
    redis_prefix = (redis_prefix or "").strip()
    if len(redis_prefix) > 100 or any(c in redis_prefix for c in "*?[] "):
        raise InvalidInput("Prefixo de chaves inválido: até 100 caracteres, sem espaços nem * ? [ ].")
    return redis_url, db, redis_prefix


def resolve_source(cliente: Cliente, settings: Settings | None = None,
                   redis_url: str | None = None) -> RedisSource | None:
    """The cliente's Redis: the URL given, its own, or the default REDIS_URL (None if none)."""
    settings = settings or get_settings()
    url = redis_url or cliente.redis_url or settings.redis_url
    if not url:
        return None
    return RedisSource(url=url, db=cliente.redis_db or 0, prefix=cliente.redis_prefix or "")


def has_own_source(cliente: Cliente, settings: Settings | None = None) -> bool:
    """Whether the cliente's source is its own (see the module docstring)."""
    if cliente.redis_url:
        return True
    settings = settings or get_settings()
    return bool(settings.redis_url) and bool(cliente.redis_prefix or cliente.redis_db)


def own_source(cliente: Cliente, settings: Settings | None = None) -> RedisSource | None:
    """The cliente's own source, or None when it has none (the poller leaves it alone)."""
    settings = settings or get_settings()
    return resolve_source(cliente, settings) if has_own_source(cliente, settings) else None


def connect(source: RedisSource, *, timeout: float = 60) -> redis.Redis:
    """A client for the source; `timeout` bounds each command, connecting takes at most 5 s."""
    # Options in the URL (its /N database) win over the keyword arguments in redis-py.
    return redis.Redis.from_url(source.url, db=source.db, socket_connect_timeout=5,
                                socket_timeout=timeout)


def redis_problem(exc: BaseException) -> str:
    """What went wrong with a Redis, in pt-BR words an admin can act on, never the client
    library's raw text (it may quote keys or internals; the log keeps it)."""
    import redis

    text = str(exc).lower()
    if isinstance(exc, redis.AuthenticationError) or "auth" in text or "noperm" in text \
            or "wrongpass" in text:
        return "o Redis recusou o usuário ou a senha"
    if isinstance(exc, redis.TimeoutError):
        return "o Redis demorou demais para responder"
    if isinstance(exc, redis.ConnectionError):
        return "o Redis não respondeu (fora do ar, endereço errado ou conexão recusada)"
    if isinstance(exc, redis.ReadOnlyError):
        return "o Redis está em modo só leitura"
    if isinstance(exc, redis.ResponseError):
        if "wrongtype" in text:
            return "uma chave do Redis não tem o tipo esperado"
        if "oom" in text:
            return "o Redis está sem memória"
        return "o Redis recusou um comando"
    return "erro na comunicação com o Redis"
