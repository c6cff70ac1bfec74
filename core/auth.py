"""Administrators: password hashes (scrypt), login with lock-out, first-run bootstrap."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import Settings, get_settings
from core.errors import AuthError, InvalidInput, NotFound
from core.db.tables import Administrador

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MAX_LOCK_SECONDS = 900
INITIAL_USER = "admin"
# Checked against when the user does not exist, so both paths cost one scrypt.
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """A salted scrypt hash: 'scrypt$n$r$p$salt$hash' (hex)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when the password matches the stored hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt),
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


def validate_new_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A senha precisa ter pelo menos {MIN_PASSWORD} caracteres.")


def validate_username(usuario: str) -> str:
    usuario = usuario.strip().lower()
    if not usuario or len(usuario) > 50 or not all(c.isalnum() or c in "._-@" for c in usuario):
        raise InvalidInput("Usuário inválido: use letras, números, ponto, hífen ou sublinhado.")
    return usuario


def create_admin(session: Session, usuario: str, senha: str, nome: str = "",
                 trocar_senha: bool = False) -> Administrador:
    """Add an administrator; the username is what ratings will record."""
    usuario = validate_username(usuario)
    validate_new_password(senha)
    if session.scalar(select(Administrador.id).where(Administrador.usuario == usuario)):
        raise InvalidInput(f"Já existe um administrador chamado '{usuario}'.")
    admin = Administrador(usuario=usuario, nome=nome or usuario, senha_hash=hash_password(senha),
                          trocar_senha=trocar_senha, ativo=True, falhas_login=0)
    session.add(admin)
    session.flush()
    return admin


def set_password(session: Session, usuario: str, senha: str, trocar_senha: bool = False) -> None:
    """Replace an administrator's password and clear any lock-out."""
    validate_new_password(senha)
    admin = _get_admin(session, usuario)
    admin.senha_hash = hash_password(senha)
    admin.trocar_senha = trocar_senha
    admin.falhas_login = 0
    admin.bloqueado_ate = None


def change_password(session: Session, usuario: str, senha_atual: str, nova: str) -> None:
    """The logged-in admin changes their own password (the current one is required)."""
    admin = _get_admin(session, usuario)
    if not verify_password(senha_atual, admin.senha_hash):
        raise AuthError("A senha atual não confere.")
    if senha_atual == nova:
        raise InvalidInput("A nova senha precisa ser diferente da atual.")
    set_password(session, usuario, nova)
    _forget_initial_password(admin.usuario)


def _forget_initial_password(usuario: str) -> None:
    # Once the first password is changed, the file holding it must not linger.
    if usuario == INITIAL_USER:
        Path(get_settings().initial_password_file).unlink(missing_ok=True)


def _get_admin(session: Session, usuario: str) -> Administrador:
    admin = session.scalar(select(Administrador).where(Administrador.usuario == usuario.strip().lower()))
    if admin is None:
        raise NotFound(f"Administrador '{usuario}' não encontrado.")
    return admin


def authenticate(session: Session, usuario: str, senha: str,
                 settings: Settings | None = None, now: dt.datetime | None = None) -> Administrador:
    """Check a login; failed attempts lock the account for a growing time."""
    settings = settings or get_settings()
    now = now or utcnow()
    admin = session.scalar(
        select(Administrador).where(Administrador.usuario == usuario.strip().lower())
    )
    if admin is None or not admin.ativo:
        verify_password(senha, _dummy_hash())
        raise AuthError("Usuário ou senha incorretos.")
    if admin.bloqueado_ate and admin.bloqueado_ate > now:
        raise AuthError(_locked_message(admin.bloqueado_ate - now))
    if not verify_password(senha, admin.senha_hash):
        _record_failure(session, admin, settings, now)
        raise AuthError("Usuário ou senha incorretos.")
    admin.falhas_login = 0
    admin.bloqueado_ate = None
    admin.ultimo_login_em = now
    return admin


def _record_failure(session: Session, admin: Administrador, settings: Settings,
                    now: dt.datetime) -> None:
    # Increment in SQL so concurrent wrong attempts all count.
    session.execute(update(Administrador).where(Administrador.id == admin.id)
                    .values(falhas_login=Administrador.falhas_login + 1))
    session.refresh(admin)
    excess = admin.falhas_login - settings.login_max_failures
    if excess >= 0:
        seconds = min(settings.login_lockout_seconds * 2**excess, MAX_LOCK_SECONDS)
        admin.bloqueado_ate = now + dt.timedelta(seconds=seconds)
    # The failure must be kept even though the caller will raise.
    session.commit()


def _locked_message(remaining: dt.timedelta) -> str:
    seconds = max(1, int(remaining.total_seconds() + 0.999))
    return f"Muitas tentativas erradas. Tente de novo em {seconds} segundos."


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Administrador)) or 0


def ensure_initial_admin(session: Session, settings: Settings | None = None) -> Path | None:
    """On a database with no administrator, create 'admin' with a random password.

    The password is written to a file only root/the owner can read and must be changed
    at the first login, so no default password ever stays valid.
    """
    settings = settings or get_settings()
    if count_admins(session):
        return None
    senha = secrets.token_urlsafe(12)
    try:
        with session.begin_nested():
            create_admin(session, INITIAL_USER, senha, nome="Administrador", trocar_senha=True)
    except (InvalidInput, IntegrityError):
        # Another process (the dashboard and the poller start together) created the
        # first administrator a moment ago: its password file is the valid one.
        if count_admins(session):
            return None
        raise
    path = Path(settings.initial_password_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"usuario: {INITIAL_USER}\nsenha: {senha}\n", encoding="utf-8")
    path.chmod(0o600)
    return path
