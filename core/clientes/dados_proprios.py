"""The cliente's own public details: phones, e-mails, CNPJ, address, CEP and Pix key.

The business publishes them (its bot gives them to customers), so the training file keeps
them in any spelling (core.training.own_details); a customer's data is still redacted.
Edited on the Clientes page and by `python -m core cliente dados-proprios SLUG`.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core.db.tables import Cliente
from core.errors import InvalidInput

_NON_DIGIT = re.compile(r"\D")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_SPLIT = re.compile(r"[\n;,]+")


@dataclass
class DadosProprios:
    telefones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    cnpj: str = ""
    endereco: str = ""
    cep: str = ""
    chave_pix: str = ""

    @property
    def vazio(self) -> bool:
        return not (self.telefones or self.emails or self.cnpj or self.endereco or self.cep
                    or self.chave_pix)


def _lines(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").splitlines() if v.strip()]


def dados_proprios(cliente: Cliente) -> DadosProprios:
    return DadosProprios(
        telefones=_lines(cliente.proprio_telefones), emails=_lines(cliente.proprio_emails),
        cnpj=cliente.proprio_cnpj or "", endereco=cliente.proprio_endereco or "",
        cep=cliente.proprio_cep or "", chave_pix=cliente.proprio_chave_pix or "")


def split_list(value: str | list[str] | None) -> list[str]:
    """'a, b; c' or one per line, or a list -> ['a', 'b', 'c']."""
    if isinstance(value, (list, tuple)):
        value = "\n".join(value)
    return [v.strip() for v in _SPLIT.split(value or "") if v.strip()]


def validate(dados: DadosProprios) -> DadosProprios:
    """The details trimmed, or an InvalidInput naming the first wrong one."""
    telefones = split_list(dados.telefones)
    for telefone in telefones:
        digits = _NON_DIGIT.sub("", telefone)
        if not 8 <= len(digits) <= 15 or re.search(r"[^\d\s().+-]", telefone):
            raise InvalidInput(f"Telefone inválido: '{telefone}'. Use, por exemplo, (11) 3030-1001.")
    emails = split_list(dados.emails)
    for email in emails:
        if not _EMAIL.match(email):
            raise InvalidInput(f"E-mail inválido: '{email}'.")
    cnpj = dados.cnpj.strip()
    if cnpj and (len(_NON_DIGIT.sub("", cnpj)) != 14 or re.search(r"[^\d\s./-]", cnpj)):
        raise InvalidInput(f"CNPJ inválido: '{cnpj}'. Use 14 dígitos, ex.: 12.345.678/0001-95.")
    cep = dados.cep.strip()
    if cep and (len(_NON_DIGIT.sub("", cep)) != 8 or re.search(r"[^\d\s.-]", cep)):
        raise InvalidInput(f"CEP inválido: '{cep}'. Use 8 dígitos, ex.: 04101-000.")
    endereco, pix = dados.endereco.strip(), dados.chave_pix.strip()
    if len(endereco) > 2000:
        raise InvalidInput("Endereço longo demais (máximo de 2000 caracteres).")
    if len(pix) > 200:
        raise InvalidInput("Chave Pix longa demais (máximo de 200 caracteres).")
    return DadosProprios(telefones, emails, cnpj, endereco, cep, pix)


def update_dados_proprios(session: Session, cliente: Cliente, dados: DadosProprios) -> DadosProprios:
    """Validate and store the cliente's own details (empty fields clear them)."""
    dados = validate(dados)
    cliente.proprio_telefones = "\n".join(dados.telefones) or None
    cliente.proprio_emails = "\n".join(dados.emails) or None
    cliente.proprio_cnpj = dados.cnpj or None
    cliente.proprio_endereco = dados.endereco or None
    cliente.proprio_cep = dados.cep or None
    cliente.proprio_chave_pix = dados.chave_pix or None
    session.flush()
    return dados


def describe(dados: DadosProprios) -> list[str]:
    """pt-BR lines (CLI)."""
    return [f"Telefones: {', '.join(dados.telefones) or '—'}",
            f"E-mails: {', '.join(dados.emails) or '—'}",
            f"CNPJ: {dados.cnpj or '—'}",
            f"Endereço: {dados.endereco or '—'}",
            f"CEP: {dados.cep or '—'}",
            f"Chave Pix: {dados.chave_pix or '—'}"]


# --- command line ---------------------------------------------------------------------------

_OPTIONS = ("telefones", "emails", "cnpj", "endereco", "cep", "chave_pix")


def add_commands(sub) -> None:
    """`cliente dados-proprios SLUG [...]` on the top-level subparsers (core/__main__)."""
    cliente = sub.add_parser("cliente", help="Dados de um cliente.").add_subparsers(
        dest="cliente_command", required=True, metavar="ação")
    p = cliente.add_parser(
        "dados-proprios", help="Mostra ou altera os dados públicos do próprio cliente (telefones, "
        "e-mails, CNPJ, endereço, CEP, chave Pix), que o arquivo de treino nunca remove.")
    p.add_argument("slug", help="Identificador (slug) do cliente.")
    p.add_argument("--telefones", help="Telefones, separados por vírgula ('' apaga).")
    p.add_argument("--emails", help="E-mails, separados por vírgula ('' apaga).")
    p.add_argument("--cnpj", help="CNPJ ('' apaga).")
    p.add_argument("--endereco", help="Endereço ('' apaga).")
    p.add_argument("--cep", help="CEP ('' apaga).")
    p.add_argument("--chave-pix", dest="chave_pix", help="Chave Pix ('' apaga).")
    p.set_defaults(func=cmd_dados_proprios)


def cmd_dados_proprios(args) -> int:
    from core.clientes.directory import get_cliente
    from core.db import session_scope, upgrade_database

    upgrade_database()
    with session_scope() as session:
        cliente = get_cliente(session, args.slug)
        dados = dados_proprios(cliente)
        changes = {k: getattr(args, k) for k in _OPTIONS if getattr(args, k) is not None}
        if changes:
            for key, value in changes.items():
                setattr(dados, key, split_list(value) if key in ("telefones", "emails") else value)
            dados = update_dados_proprios(session, cliente, dados)
            print(f"Dados próprios de {cliente.nome} ({cliente.slug}) gravados:")
        else:
            print(f"Dados próprios de {cliente.nome} ({cliente.slug}):")
        sys.stdout.write("\n".join("  " + line for line in describe(dados)) + "\n")
    return 0
