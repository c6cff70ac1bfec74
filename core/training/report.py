"""The report of a training file: what was written, what was skipped, what it costs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from core.formato import dinheiro, inteiro, plural
from core.training import tokens as tk
from core.training.own_details import split_counts

# Why a conversa gave no example (keys of DatasetReport.puladas), in pt-BR for the report.
MOTIVOS = {
    "sem_mensagens": "sem mensagens",
    "sem_mensagem_do_usuario": "sem mensagem do cliente",
    "sem_resposta_do_assistente": "sem resposta do assistente",
    "acima_do_limite_de_tokens": "acima do limite de tokens do modelo",
    "duplicada": "exemplo duplicado",
    "mensagem_nao_e_do_bot": "correção de uma mensagem que não é do bot",
}

# Kinds of personal data (and of the cliente's own details), in pt-BR for the report.
TIPOS_DADO = {
    "cpf": "CPF",
    "cnpj": "CNPJ",
    "email": "E-mail",
    "telefone": "Telefone",
    "cep": "CEP",
    "cartao": "Cartão",
    "chave_pix": "Chave Pix",
    "endereco": "Endereço",
}


@dataclass
class DatasetReport:
    """What was written and what it will cost; `ok` when the provider would accept it."""

    train_path: Path
    validation_path: Path | None = None
    exemplos: int = 0
    conversas_usadas: int = 0
    exemplos_validacao: int = 0
    # Of the examples (training + validation): those of corrected conversas, ending with
    # the admin's correction (core.training.preference).
    exemplos_corrigidos: int = 0
    puladas: dict[str, int] = field(default_factory=dict)
    redacoes: dict[str, int] = field(default_factory=dict)
    # The cliente's own public details kept in the examples, by kind (not personal data).
    mantidos: dict[str, int] = field(default_factory=dict)
    tokens_faturados: int = 0
    epocas: int = 0
    custo_usd: Decimal = Decimal("0.00")
    custo_brl: Decimal = Decimal("0.00")
    modelo_base: str = ""
    erros: list[str] = field(default_factory=list)
    avisos: list[str] = field(default_factory=list)
    # Beyond the contract: details for the report screens.
    encoding: str = ""
    limite_tokens: int = 0
    tokens_exemplos: int = 0
    tokens_validacao: int = 0
    maior_exemplo_tokens: int = 0
    preco_usd_por_milhao: Decimal | None = None
    cambio_usd_brl: Decimal = Decimal("0")

    @property
    def ok(self) -> bool:
        return not self.erros

    def lines(self) -> list[str]:
        """The report as pt-BR text lines (CLI; the page renders the same fields)."""
        out = [
            f"Modelo base: {self.modelo_base} (tokenizador {self.encoding}, "
            f"limite de {self.limite_tokens} tokens por exemplo)",
            f"Exemplos de treino: {self.exemplos} (arquivo {self.train_path})",
            f"Exemplos de validação: {self.exemplos_validacao}"
            + (f" (arquivo {self.validation_path})" if self.validation_path else ""),
            f"Conversas usadas: {self.conversas_usadas}",
            f"  - das quais corrigidas (terminam com a correção): {self.exemplos_corrigidos}",
        ]
        puladas = sum(self.puladas.values())
        out.append(f"Conversas puladas: {puladas}")
        out += [f"  - {MOTIVOS.get(k, k)}: {v}" for k, v in sorted(self.puladas.items())]
        out.append(f"Dados pessoais removidos: {sum(self.redacoes.values())}")
        out += [f"  - {TIPOS_DADO.get(k, k)}: {v}" for k, v in sorted(self.redacoes.items())]
        if self.mantidos:
            out.append(f"Dados do próprio cliente mantidos: {sum(self.mantidos.values())}")
            out += [f"  - {TIPOS_DADO.get(k, k)}: {v}" for k, v in sorted(self.mantidos.items())]
        out += [
            f"Tokens do treino: {inteiro(self.tokens_exemplos)} "
            f"(maior exemplo: {inteiro(self.maior_exemplo_tokens)})",
            f"Épocas: {self.epocas}",
            f"Tokens faturados: {inteiro(self.tokens_faturados)}",
            f"Custo estimado: {dinheiro(self.custo_usd, 'US$')} ({dinheiro(self.custo_brl)} a "
            f"{dinheiro(self.cambio_usd_brl)}/US$)",
        ]
        out += [f"AVISO: {a}" for a in self.avisos]
        out += [f"ERRO: {e}" for e in self.erros]
        out.append("Arquivo aceito pela validação." if self.ok else "Arquivo NÃO seria aceito.")
        return out


def fill_report(report: DatasetReport, checkers: dict, puladas: Counter, redacoes: Counter,
                 settings) -> None:
    treino, validacao = checkers["treino"], checkers["validacao"]
    report.exemplos = treino.exemplos
    report.exemplos_validacao = validacao.exemplos
    report.conversas_usadas = treino.exemplos + validacao.exemplos
    report.puladas = dict(puladas)
    report.redacoes, report.mantidos = split_counts(redacoes)
    report.tokens_exemplos = treino.tokens
    report.tokens_validacao = validacao.tokens
    report.maior_exemplo_tokens = max(treino.maior, validacao.maior)
    report.epocas = tk.default_epochs(treino.exemplos)
    report.tokens_faturados = tk.billed_tokens(treino.tokens_cobrados, report.epocas)
    erros, avisos = treino.messages()
    erros_val, _ = validacao.messages()
    erros += [f"Validação: {e}" for e in erros_val if "pelo menos" not in e]
    if puladas:
        resumo = ", ".join(f"{MOTIVOS.get(k, k)}: {v}" for k, v in sorted(puladas.items()))
        avisos.append(f"{plural(sum(puladas.values()), 'conversa boa pulada')} ({resumo}).")
    preco = tk.price_for(report.modelo_base, settings.precos_treino_usd)
    report.preco_usd_por_milhao = preco
    if preco is None:
        erros.append(f"Sem preço de treino para o modelo '{tk.base_model(report.modelo_base)}': "
                     "configure CURADORIA_PRECOS_TREINO_USD.")
    else:
        report.custo_usd = tk.cost_usd(report.tokens_faturados, preco)
        report.custo_brl = tk.cost_brl(report.tokens_faturados, preco, settings.cambio_usd_brl)
    report.erros, report.avisos = erros, avisos
