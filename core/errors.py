"""Domain errors: each carries a message in pt-BR that the edge shows as it is."""
from __future__ import annotations


class CuradoriaError(Exception):
    """Base of every error core raises on purpose; str(error) is the pt-BR message."""

    def __init__(self, mensagem: str):
        super().__init__(mensagem)
        self.mensagem = mensagem


class NotFound(CuradoriaError):
    """Something the caller named does not exist."""


class InvalidInput(CuradoriaError):
    """The caller gave a value core cannot accept."""


class AuthError(CuradoriaError):
    """Login refused (wrong credentials, locked, disabled)."""


class ServiceUnavailable(CuradoriaError):
    """A service core depends on (database, Redis, provider) did not answer."""
