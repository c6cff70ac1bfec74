"""Corrections as training data: the SFT example of a corrected conversa and the
preference (DPO) file.

A correction says which bot answer went wrong and what it should have said. The
conversation "as it should have gone" is its messages with every corrected bot answer
replaced by its correction. From it:
- SFT (core.training.dataset): one example per corrected conversa, running up to its
  last corrected answer and ending with that correction;
- DPO (`python -m core export --formato dpo`): one row per correction, the conversation
  before the corrected answer as `input`, the correction as `preferred_output` and what
  the bot said as `non_preferred_output` — the preference format OpenAI and Together both
  accept.
Both go through build_example: the same system prompt, redaction (a CPF typed into a
correction is redacted like one typed by a customer), merging and checks as every example.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from core.clientes.directory import get_cliente
from core.config import get_settings
from core.errors import InvalidInput
from core.review.corrections import cliente_corrections
from core.training import tokens as tk
from core.training.examples import MIN_EXEMPLOS, build_example
from core.training.own_details import OwnDetails, own_details_of, split_counts
from core.training.redaction import redact_text
from core.training.report import MOTIVOS

Mensagens = list[tuple[int, str, str]]  # (message id, role, content), in time order

MOTIVOS_DPO = {
    **MOTIVOS,
    "resposta_do_bot_vazia": "resposta original do bot vazia",
    "igual_a_resposta_do_bot": "correção igual à resposta do bot depois da remoção de dados pessoais",
    "mensagem_nao_e_do_bot": "a mensagem corrigida não é do bot",
}

# OpenAI's published rules for a preference (DPO) example, in pt-BR (PreferenceChecker).
ERROS_PREFERENCIA = {
    "data_type": "linha que não é um objeto JSON",
    "chaves": "exemplo sem 'input', 'preferred_output' e 'non_preferred_output' (ou com outras chaves)",
    "input": "'input' sem a lista 'messages'",
    "mensagem": "mensagem sem 'role' e 'content' de texto não vazio",
    "papel": "mensagem com papel (role) não reconhecido",
    "alternancia": "mensagens de cliente e assistente fora de alternância",
    "ultima_do_input": "o 'input' não termina com a mensagem do cliente",
    "saida": "saída que não é exatamente uma mensagem do assistente",
    "saidas_iguais": "resposta preferida igual à não preferida",
}


def corrected_rows(mensagens: Mensagens, correcoes: dict[int, str]) -> list[tuple[str, str]]:
    """The conversa as it should have gone, up to its last corrected bot answer."""
    ultima = max((i for i, (mid, role, _) in enumerate(mensagens)
                  if mid in correcoes and role == "assistant"), default=-1)
    return [(role, correcoes.get(mid, conteudo) if role == "assistant" else conteudo)
            for mid, role, conteudo in mensagens[:ultima + 1]]


def corrected_example(system_prompt: str, mensagens: Mensagens, correcoes: dict[int, str],
                      counts: Counter | None = None, own: OwnDetails | None = None
                      ) -> tuple[list[dict] | None, str | None]:
    """The SFT example of a corrected conversa: (messages, None) or (None, skip reason)."""
    rows = corrected_rows(mensagens, correcoes)
    if not rows:
        return None, "mensagem_nao_e_do_bot"
    return build_example(system_prompt, rows, counts, own=own)


def preference_examples(system_prompt: str, mensagens: Mensagens, correcoes: dict[int, str],
                        counts: Counter | None = None, own: OwnDetails | None = None
                        ) -> Iterator[tuple[dict | None, str | None]]:
    """One (row, None) or (None, skip reason) per correction of the conversa."""
    for i, (mid, role, original) in enumerate(mensagens):
        if mid not in correcoes:
            continue
        if role != "assistant":
            yield None, "mensagem_nao_e_do_bot"
            continue
        history = [(r, correcoes.get(m, c) if r == "assistant" else c) for m, r, c in mensagens[:i]]
        chosen, motivo = build_example(system_prompt, history + [("assistant", correcoes[mid])], counts,
                                       own=own)
        if motivo:
            yield None, motivo
            continue
        rejected, _ = build_example(system_prompt, history + [("assistant", original or "")], own=own)
        if counts is not None:
            redact_text((original or "").strip(), counts, own)
        if not rejected or rejected[:-1] != chosen[:-1]:
            yield None, "resposta_do_bot_vazia"
            continue
        if rejected[-1] == chosen[-1]:
            yield None, "igual_a_resposta_do_bot"
            continue
        yield {"input": {"messages": chosen[:-1]}, "preferred_output": [chosen[-1]],
               "non_preferred_output": [rejected[-1]]}, None


def preference_errors(example) -> list[str]:
    """OpenAI's published rules for a preference example (codes of ERROS_PREFERENCIA)."""
    if not isinstance(example, dict):
        return ["data_type"]
    if set(example) != {"input", "preferred_output", "non_preferred_output"}:
        return ["chaves"]
    entrada = example["input"]
    messages = entrada.get("messages") if isinstance(entrada, dict) else None
    if not isinstance(messages, list) or not messages:
        return ["input"]
    errors: list[str] = []
    anterior = None
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or not m["content"] \
                or set(m) - {"role", "content"}:
            errors.append("mensagem")
            continue
        if m.get("role") not in ("system", "user", "assistant"):
            errors.append("papel")
        elif m["role"] == anterior or (m["role"] == "system" and anterior is not None):
            errors.append("alternancia")
        anterior = m.get("role")
    if not errors and messages[-1].get("role") != "user":
        errors.append("ultima_do_input")
    for key in ("preferred_output", "non_preferred_output"):
        out = example[key]
        if (not isinstance(out, list) or len(out) != 1 or not isinstance(out[0], dict)
                or out[0].get("role") != "assistant" or set(out[0]) != {"role", "content"}
                or not isinstance(out[0].get("content"), str) or not out[0]["content"]):
            errors.append("saida")
    if not errors and example["preferred_output"] == example["non_preferred_output"]:
        errors.append("saidas_iguais")
    return errors


@dataclass
class PreferenceReport:
    path: Path
    modelo_base: str = ""
    encoding: str = ""
    limite_tokens: int = 0
    exemplos: int = 0
    conversas: int = 0
    puladas: dict[str, int] = field(default_factory=dict)
    redacoes: dict[str, int] = field(default_factory=dict)
    tokens: int = 0  # both sequences of every row (input + each answer)
    maior_exemplo_tokens: int = 0
    erros: list[str] = field(default_factory=list)
    avisos: list[str] = field(default_factory=list)
    # The estimate the fine-tuning start shows (as the training file's: epochs, billed
    # tokens, our price table), and the names it reads on a training file's report.
    epocas: int = 0
    tokens_faturados: int = 0
    custo_usd: Decimal = Decimal("0.00")
    custo_brl: Decimal = Decimal("0.00")
    preco_usd_por_milhao: Decimal | None = None
    validation_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.erros

    @property
    def train_path(self) -> Path:
        return self.path

    @property
    def conversas_usadas(self) -> int:
        return self.exemplos

    def lines(self) -> list[str]:
        out = [f"Modelo base: {self.modelo_base} (tokenizador {self.encoding}, "
               f"limite de {self.limite_tokens} tokens por exemplo)",
               f"Exemplos de preferência (DPO): {self.exemplos} (arquivo {self.path})",
               f"Conversas corrigidas: {self.conversas}",
               f"Correções puladas: {sum(self.puladas.values())}"]
        out += [f"  - {MOTIVOS_DPO.get(k, k)}: {v}" for k, v in sorted(self.puladas.items())]
        out.append(f"Dados pessoais removidos: {sum(self.redacoes.values())}")
        out += [f"  - {k}: {v}" for k, v in sorted(self.redacoes.items())]
        out.append(f"Tokens (maior exemplo): {self.tokens} ({self.maior_exemplo_tokens})")
        out.append(f"Épocas: {self.epocas}; tokens faturados: {self.tokens_faturados}; custo "
                   f"estimado: US$ {self.custo_usd} (R$ {self.custo_brl})")
        out += [f"AVISO: {a}" for a in self.avisos]
        out += [f"ERRO: {e}" for e in self.erros]
        out.append("Arquivo aceito pela validação." if self.ok else "Arquivo NÃO seria aceito.")
        return out


def write_preference_file(session: Session, cliente, out: Path) -> PreferenceReport:
    """The cliente's preference (DPO) file at `out`, with its report."""
    out = Path(out)
    if out.is_dir():
        raise InvalidInput(f"'{out}' é uma pasta; informe o caminho do arquivo .jsonl.")
    out.parent.mkdir(parents=True, exist_ok=True)
    modelo = cliente.modelo_base
    report = PreferenceReport(path=out, modelo_base=modelo, encoding=tk.encoding_name(modelo),
                              limite_tokens=tk.token_limit(modelo))
    puladas: Counter = Counter()
    redacoes: Counter = Counter()
    erros_formato: Counter = Counter()
    vistos: set[bytes] = set()
    own = own_details_of(cliente)  # the cliente's own details stay, as in the training file
    tmp = out.with_name(out.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            for _, mensagens, correcoes in cliente_corrections(session, cliente.id):
                report.conversas += 1
                for row, motivo in preference_examples(cliente.system_prompt or "", mensagens,
                                                       correcoes, redacoes, own):
                    if motivo:
                        puladas[motivo] += 1
                        continue
                    base = row["input"]["messages"]
                    n_sim = tk.count_example_tokens(base + row["preferred_output"], report.encoding)
                    n_nao = tk.count_example_tokens(base + row["non_preferred_output"], report.encoding)
                    n = max(n_sim, n_nao)
                    if n > report.limite_tokens:
                        puladas["acima_do_limite_de_tokens"] += 1
                        continue
                    data = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()
                    if data in vistos:
                        puladas["duplicada"] += 1
                        continue
                    vistos.add(data)
                    erros_formato.update(preference_errors(row))
                    report.exemplos += 1
                    report.tokens += n_sim + n_nao
                    report.maior_exemplo_tokens = max(report.maior_exemplo_tokens, n)
                    f.write(data + b"\n")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    report.puladas, report.redacoes = dict(puladas), split_counts(redacoes)[0]  # removed only
    report.erros = [f"Formato: {ERROS_PREFERENCIA[c]} ({n} ocorrência(s))."
                    for c, n in sorted(erros_formato.items())]
    if report.exemplos < MIN_EXEMPLOS:
        report.erros.append(f"São necessários pelo menos {MIN_EXEMPLOS} exemplos de preferência; "
                            f"o arquivo tem {report.exemplos}. Corrija mais respostas do bot.")
    if puladas:
        resumo = ", ".join(f"{MOTIVOS_DPO.get(k, k)}: {v}" for k, v in sorted(puladas.items()))
        report.avisos.append(f"{sum(puladas.values())} correção(ões) pulada(s) ({resumo}).")
    _estimate(report)
    return report


def _estimate(report: PreferenceReport) -> None:
    """Epochs, billed tokens and cost as the training file's (both answers counted)."""
    settings = get_settings()
    report.epocas = tk.default_epochs(report.exemplos)
    report.tokens_faturados = tk.billed_tokens(report.tokens, report.epocas)
    report.preco_usd_por_milhao = tk.price_for(report.modelo_base, settings.precos_treino_usd)
    if report.preco_usd_por_milhao is not None:
        report.custo_usd = tk.cost_usd(report.tokens_faturados, report.preco_usd_por_milhao)
        report.custo_brl = tk.cost_brl(report.tokens_faturados, report.preco_usd_por_milhao,
                                       settings.cambio_usd_brl)


def export_preferences(session: Session, slug: str, out: Path) -> PreferenceReport:
    """The CLI's `export --formato dpo`."""
    return write_preference_file(session, get_cliente(session, slug), out)


def build_preference_file(session: Session, cliente_id: int, out_dir: Path) -> PreferenceReport:
    """out_dir/<slug>-dpo.jsonl: the file a DPO fine-tuning uploads."""
    from core.clientes.directory import get_cliente_by_id

    cliente = get_cliente_by_id(session, cliente_id)
    return write_preference_file(session, cliente, Path(out_dir) / f"{cliente.slug}-dpo.jsonl")
