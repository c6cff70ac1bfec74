"""Administrators: password hashes (scrypt), login with lock-out, sessions, first-run bootstrap."""
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
from core.common_passwords import COMMON_PASSWORDS
from core.config import Settings, get_settings
from core.errors import AuthError, InvalidInput, NotFound
from core.db.tables import Administrador

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MIN_DISTINCT_CHARACTERS = 4
MAX_LOCK_SECONDS = 900
INITIAL_USER = "admin"
# One answer, after the same work, for a wrong password, an unknown or inactive user and a
# locked account: a login attempt must not tell which usernames exist or are locked.
LOGIN_REFUSED = ("Usuário ou senha incorretos, ou acesso bloqueado temporariamente. "
                 "Tente de novo em alguns instantes.")
# Verified against when there is no real hash, so every attempt costs one scrypt.
_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'00' * 16}${'00' * 64}"
_PADDING = "0123456789!@#$%&*._-?+= "


def hash_password(password: str) -> str:
    """A salted scrypt hash: 'scrypt$n$r$p$salt$hash' (hex)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when the password matches the stored hash (constant-time compare).

    A missing or unreadable hash costs the same scrypt as a real one, and is never a match."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
    except ValueError:
        scheme = ""
    if scheme != "scrypt":
        verify_password(password, _DUMMY_HASH)
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt),
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def validate_new_password(password: str, usuario: str = "") -> None:
    """Refuse passwords that are short or blank, repetitive, common, or hold the username."""
    visible = "".join(password.split()).lower()
    if len(visible) < MIN_PASSWORD:
        raise InvalidInput(f"A senha precisa ter pelo menos {MIN_PASSWORD} caracteres, "
                           "sem contar os espaços.")
    if len(set(visible)) < MIN_DISTINCT_CHARACTERS:
        raise InvalidInput("A senha repete poucos caracteres: escolha uma mais variada.")
    if visible in COMMON_PASSWORDS or visible.strip(_PADDING) in COMMON_PASSWORDS:
        raise InvalidInput("Essa senha está entre as mais usadas e é fácil de adivinhar: "
                           "escolha outra.")
    usuario = usuario.strip().lower()
    if len(usuario) >= 3 and usuario in visible:
        raise InvalidInput("A senha não pode conter o nome de usuário.")


def validate_username(usuario: str) -> str:
    usuario = usuario.strip().lower()
    if not usuario or len(usuario) > 50 or not all(c.isalnum() or c in "._-@" for c in usuario):
        raise InvalidInput("Usuário inválido: use letras, números, ponto, hífen ou sublinhado.")
    return usuario


def create_admin(session: Session, usuario: str, senha: str, nome: str = "",
                 trocar_senha: bool = False) -> Administrador:
    """Add an administrator; the username is what ratings will record."""
    usuario = validate_username(usuario)
    validate_new_password(senha, usuario)
    if session.scalar(select(Administrador.id).where(Administrador.usuario == usuario)):
        raise InvalidInput(f"Já existe um administrador chamado '{usuario}'.")
    admin = Administrador(usuario=usuario, nome=nome or usuario, senha_hash=hash_password(senha),
                          trocar_senha=trocar_senha, ativo=True, falhas_login=0)
    session.add(admin)
    session.flush()
    return admin


def set_password(session: Session, usuario: str, senha: str,
                 trocar_senha: bool = False) -> Administrador:
    """Replace an administrator's password and clear any lock-out.

    Every session logged in with the old password ends at its next page load: its rows
    are revoked here, and the password stamp each one took at login no longer matches."""
    admin = _get_admin(session, usuario)
    validate_new_password(senha, admin.usuario)
    from core.login_sessions import revoke_all  # it imports this module

    revoke_all(session, admin.id)
    admin.senha_hash = hash_password(senha)
    admin.trocar_senha = trocar_senha
    admin.falhas_login = 0
    admin.bloqueado_ate = None
    return admin


def change_password(session: Session, usuario: str, senha_atual: str, nova: str) -> Administrador:
    """The logged-in admin changes their own password (the current one is required)."""
    admin = _get_admin(session, usuario)
    if not verify_password(senha_atual, admin.senha_hash):
        raise AuthError("A senha atual não confere.")
    if senha_atual == nova:
        raise InvalidInput("A nova senha precisa ser diferente da atual.")
    set_password(session, usuario, nova)
    _forget_initial_password(admin.usuario)
    return admin


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
    """Check a login; failed attempts lock the account for a growing time.

    Unknown, inactive and locked accounts get the same answer as a wrong password, after
    the same scrypt, so the login form never reveals who exists or who is locked."""
    settings = settings or get_settings()
    now = now or utcnow()
    admin = session.scalar(
        select(Administrador).where(Administrador.usuario == usuario.strip().lower())
    )
    if admin is None or not admin.ativo:
        verify_password(senha, _DUMMY_HASH)
        raise AuthError(LOGIN_REFUSED)
    correct = verify_password(senha, admin.senha_hash)
    if admin.bloqueado_ate and admin.bloqueado_ate > now:
        raise AuthError(LOGIN_REFUSED)
    if not correct:
        _record_failure(session, admin, settings, now)
        raise AuthError(LOGIN_REFUSED)
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


def session_stamp(admin: Administrador) -> str:
    """What a login session keeps of the account: it changes whenever the password does."""
    return hashlib.sha256(f"{admin.id}:{admin.senha_hash}".encode()).hexdigest()


def check_session(session: Session, usuario: str, stamp: str | None) -> Administrador | None:
    """The account behind a logged-in session, or None when the session must end: the
    account was removed or deactivated, or its password changed since that login."""
    admin = session.scalar(select(Administrador).where(Administrador.usuario == usuario))
    if admin is None or not admin.ativo:
        return None
    if not hmac.compare_digest(session_stamp(admin), stamp or ""):
        return None
    return admin


def first_access_pending(session: Session) -> bool:
    """True while the initial 'admin' still has to replace its generated password."""
    return bool(session.scalar(select(Administrador.id).where(
        Administrador.usuario == INITIAL_USER, Administrador.ativo.is_(True),
        Administrador.trocar_senha.is_(True))))


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
    _write_private_file(path, f"usuario: {INITIAL_USER}\nsenha: {senha}\n")
    return path


def _write_private_file(path: Path, text: str) -> None:
    """Create the file readable by its owner only from the first byte (whatever the umask):
    writing first and chmod-ing afterwards leaves a moment when anyone can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a leftover from an earlier database
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
