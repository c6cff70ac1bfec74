"""One typed Settings object, read from the environment.

Every setting has a default and a help text (the field description); the README lists
them all and a test fails when one is missing there. `python -m core settings` prints
the table.
"""
from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'curadoria.db'}"
# The analysis's known topics (core.review.topics parses them): 'Label: prefix, ...; ...'.
DEFAULT_TOPICOS = (
    "Trocas e devoluções: troc, devol, defeito, reembols, volta, errado, arrepend, estorn; "
    "Falar com atendente: atendente, humano, pessoa, alguem, gerente, falar, verdade; "
    "Rastreamento de pedido: pedido, rastre, cade, chegou, status, saiu, codigo; "
    "Formas de pagamento: pag, pix, cartao, credit, debit, boleto, parcel, dinheiro, vale, refeic; "
    "Entrega e frete: entreg, frete, delivery, prazo, cep, demora, motoboy; "
    "Horário de funcionamento: horari, hora, abre, abert, fech, funcion, feriad, doming, sabad; "
    "Localização: onde, endereco, localiz, bairro, chegar, estacion, perto, metro, fica; "
    "Preços: preco, valor, custa, quanto, promoc, desconto; "
    "Produtos disponíveis: produt, vend, cardapio, catalog, lactose, novidade, encomenda, "
    "tamanho, disponiv, opcao, opcoes, sabor, modelo"
)


def _env(name: str) -> Any:
    """An environment variable name used as-is (no CURADORIA_ prefix)."""
    return AliasChoices(name)


class Settings(BaseSettings):
    """Curadoria's settings. Env vars are CURADORIA_<FIELD> unless an alias is given."""

    model_config = SettingsConfigDict(
        env_prefix="CURADORIA_", extra="ignore", populate_by_name=True
    )

    # --- database and services ---
    database_url: str = Field(
        DEFAULT_SQLITE_URL,
        validation_alias=_env("DATABASE_URL"),
        description="Banco de dados (SQLAlchemy URL). Padrão: SQLite em data/curadoria.db. "
        "Produção: postgresql+psycopg://usuario@host/banco.",
    )
    redis_url: str | None = Field(
        None,
        validation_alias=_env("REDIS_URL"),
        description="Redis padrão dos bots, usado pelos clientes sem URL própria "
        "(ex.: redis://127.0.0.1:6379/0). Opcional.",
    )
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("OPENAI_API_KEY"),
        description="Chave da API da OpenAI, lida também pelo SDK. Necessária só para fine-tuning.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=_env("OPENAI_BASE_URL"),
        description="URL base da API da OpenAI (lida pelo SDK); útil para proxies e testes.",
    )

    # --- the dashboard ---
    timezone: str = Field(
        "America/Sao_Paulo",
        description="Fuso horário usado para exibir datas e agrupar conversas por dia.",
    )
    url_publica: str = Field(
        "http://localhost:8501",
        description="Endereço público do painel, sem barra no fim (ex.: https://curadoria.exemplo.com.br); "
        "os links das planilhas CSV baixadas apontam para ele.",
    )
    initial_password_file: Path = Field(
        PROJECT_ROOT / "data" / "senha_inicial.txt",
        description="Onde a senha inicial do usuário 'admin' é gravada no primeiro início "
        "(só quando não existe nenhum administrador). Ela precisa ser trocada no primeiro login.",
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Tentativas de login erradas seguidas antes de o usuário ser bloqueado por um tempo.",
    )
    login_lockout_seconds: int = Field(
        30,
        ge=1,
        description="Primeiro bloqueio após as falhas de login, em segundos; dobra a cada nova "
        "falha, até 15 minutos.",
    )
    sessao_inativa_horas: float = Field(
        12, gt=0,
        description="Horas sem uso que encerram uma sessão do painel (o navegador volta ao "
        "login). Uma sessão dura no máximo 30 dias.",
    )
    sessao_cookie_seguro: Literal["auto", "sim", "nao"] = Field(
        "auto",
        description="Cookie de sessão só por HTTPS (Secure): 'auto' quando o painel é aberto "
        "por https (também atrás de um proxy que envia X-Forwarded-Proto), 'sim' sempre, "
        "'nao' nunca.",
    )
    sessao_segredo: SecretStr | None = Field(
        None,
        description="Chave que assina o cookie de sessão. Vazio: uma chave aleatória gravada "
        "em sessao_segredo.key, ao lado do arquivo da senha inicial (só o dono lê).",
    )

    # --- the import from Redis ---
    ingest_inatividade_minutos: int = Field(
        30, ge=1,
        description="Minutos sem mensagens que encerram uma conversa: mensagens do mesmo número "
        "separadas por mais tempo que isso viram conversas diferentes.",
    )
    ingest_lote: int = Field(
        50_000, ge=100,
        description="Entradas da lista all_conversations lidas do Redis e gravadas no banco por "
        "transação na importação.",
    )
    ingest_max_caracteres: int = Field(
        20_000, ge=100,
        description="Tamanho máximo do conteúdo de uma mensagem importada; maiores são rejeitadas "
        "(e ficam para inspeção).",
    )

    # --- the analysis ---
    analise_topicos: str = Field(
        DEFAULT_TOPICOS,
        description="Tópicos conhecidos da análise, no formato 'Rótulo: prefixo, prefixo; "
        "Rótulo: ...' (palavras sem acento; cada prefixo casa as palavras que começam com ele). "
        "Perguntas que não casam com nenhum são agrupadas automaticamente.",
    )
    analise_lote: int = Field(
        20000, ge=1,
        description="Quantas conversas novas ou alteradas o poller analisa a cada ciclo.",
    )
    analise_amostra_topicos: int = Field(
        3000, ge=10,
        description="Quantas perguntas sem tópico conhecido (as mais recentes) são agrupadas "
        "para revelar tópicos novos na página de análise.",
    )

    classificador: Literal["regras", "llm"] = Field(
        "regras",
        description="Detector de problemas da análise e do poller: 'regras' (offline, padrão) "
        "ou 'llm' (CURADORIA_CLASSIFICADOR_MODELO; sem modelo, ou se o endpoint falhar, "
        "valem as regras).",
    )
    classificador_modelo: str | None = Field(
        None,
        description="Modelo do classificador de problemas por LLM (ex.: o modelo base do "
        "vLLM da equipe, ou gpt-4.1-mini). Vazio = só as regras.",
    )
    classificador_endpoint: str | None = Field(
        None,
        description="URL base compatível com a OpenAI do classificador (ex.: "
        "http://vllm:8000/v1). Vazio = a da OpenAI (OPENAI_BASE_URL).",
    )
    classificador_api_key: SecretStr | None = Field(
        None, description="Chave da API do endpoint do classificador. Vazio = OPENAI_API_KEY.",
    )
    classificador_max_conversas: int = Field(
        200, ge=0,
        description="Máximo de conversas perguntadas ao LLM por execução (análise ou ciclo do "
        "poller); as que estão no cache não contam. Além do limite valem as regras.",
    )

    # --- the training file ---
    dataset_fracao_validacao: float = Field(
        0.1, ge=0, lt=1,
        description="Fração dos exemplos separada para o arquivo de validação (0 = sem "
        "validação). A divisão é determinística: a mesma conversa cai sempre no mesmo arquivo.",
    )
    dataset_semente_divisao: str = Field(
        "curadoria",
        description="Semente da divisão treino/validação; mudá-la sorteia outra divisão.",
    )
    precos_treino_usd: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "gpt-4.1-2025-04-14": Decimal("25.00"),
            "gpt-4.1-mini-2025-04-14": Decimal("5.00"),
            "gpt-4.1-nano-2025-04-14": Decimal("1.50"),
            "gpt-4o-2024-08-06": Decimal("25.00"),
            "gpt-4o-mini-2024-07-18": Decimal("3.00"),
            "gpt-3.5-turbo-0125": Decimal("8.00"),
        },
        description="Preço do treino em US$ por 1 milhão de tokens faturados, por modelo base "
        '(JSON, ex.: {"gpt-4.1-mini-2025-04-14": 5.00}).',
    )
    cambio_usd_brl: Decimal = Field(
        Decimal("5.40"), gt=0,
        description="Câmbio usado para mostrar o custo em reais (R$ por US$ 1).",
    )

    # --- fine-tuning ---
    min_conversas_marcadas: int = Field(
        50, ge=0,
        description="Mínimo de conversas avaliadas (boas + ruins) para iniciar um fine-tuning.",
    )
    min_conversas_boas: int = Field(
        30, ge=0, description="Mínimo de conversas boas para iniciar um fine-tuning.",
    )
    min_conversas_ruins: int = Field(
        10, ge=0, description="Mínimo de conversas ruins para iniciar um fine-tuning.",
    )
    min_correcoes: int = Field(
        20, ge=1,
        description="Mínimo de respostas do bot corrigidas para iniciar um fine-tuning por "
        "preferências (DPO).",
    )
    openai_timeout_seconds: float = Field(
        60.0, gt=0,
        description="Tempo máximo de espera por uma resposta da API da OpenAI, em segundos.",
    )
    openai_max_retries: int = Field(
        2, ge=0,
        description="Novas tentativas automáticas do SDK da OpenAI em erros temporários "
        "(429, 5xx, tempo esgotado).",
    )
    fine_tuning_dir: Path = Field(
        PROJECT_ROOT / "data" / "fine_tuning",
        description="Pasta onde os arquivos JSONL enviados para fine-tuning são guardados "
        "(um subdiretório por job).",
    )

    # --- the poller and notifications ---
    poller_interval_seconds: int = Field(
        1800, ge=1,
        description="Intervalo entre dois ciclos do poller (importação do Redis e "
        "acompanhamento dos fine-tunings), em segundos.",
    )
    poller_lease_seconds: int = Field(
        600, ge=1,
        description="Por quanto tempo um poller reserva um job que está verificando; depois "
        "disso outro poller pode retomá-lo, por exemplo após uma queda.",
    )
    poller_max_tentativas: int = Field(
        4, ge=1,
        description="Tentativas por job e por ciclo quando o provedor falha de forma "
        "passageira (429, 5xx, tempo esgotado, conexão recusada).",
    )
    poller_backoff_seconds: float = Field(
        2.0, ge=0,
        description="Espera base entre tentativas (dobra a cada falha, até 60 s); um "
        "Retry-After do provedor tem prioridade.",
    )
    webhook_url: str | None = Field(
        None,
        description="URL que recebe um POST JSON a cada notificação (ex.: fine-tuning "
        "concluído). Opcional.",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="Tempo máximo de cada POST do webhook, em segundos.",
    )
    webhook_max_tentativas: int = Field(
        8, ge=1,
        description="Tentativas de entrega de cada notificação ao webhook antes de desistir.",
    )

    # Evaluation before a model goes into use
    avaliacao_ativa: bool = Field(
        True,
        description="Avaliar cada modelo novo nas conversas de validação antes de colocá-lo em "
        "uso: um modelo pior que o atual fica aguardando aprovação. false = sem essa etapa.",
    )
    avaliacao_max_exemplos: int = Field(
        50, ge=1,
        description="Quantos exemplos do arquivo de validação do job são usados na avaliação "
        "(escolhidos espalhados pelo arquivo, sempre os mesmos).",
    )
    avaliacao_concorrencia: int = Field(
        8, ge=1,
        description="Quantas perguntas a avaliação faz ao mesmo tempo aos modelos (somados).",
    )
    avaliacao_timeout_seconds: float = Field(
        60.0, gt=0,
        description="Tempo máximo de espera por cada resposta de modelo na avaliação, em segundos.",
    )
    avaliacao_max_tentativas: int = Field(
        4, ge=1,
        description="Tentativas por pergunta da avaliação quando o endpoint falha de forma "
        "passageira (429, 5xx, tempo esgotado), além das novas tentativas do próprio SDK.",
    )
    avaliacao_backoff_seconds: float = Field(
        2.0, ge=0,
        description="Espera base entre essas tentativas (dobra a cada falha, até 60 s); um "
        "Retry-After do endpoint tem prioridade.",
    )
    avaliacao_precos_usd: dict[str, tuple[Decimal, Decimal]] = Field(
        default_factory=lambda: {
            "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
            "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
            "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
            "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
            "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
            "ft:gpt-4.1": (Decimal("3.00"), Decimal("12.00")),
            "ft:gpt-4.1-mini": (Decimal("0.80"), Decimal("3.20")),
            "ft:gpt-4.1-nano": (Decimal("0.20"), Decimal("0.80")),
            "ft:gpt-4o": (Decimal("3.75"), Decimal("15.00")),
            "ft:gpt-4o-mini": (Decimal("0.30"), Decimal("1.20")),
        },
        description="Preço de uso em US$ por 1 milhão de tokens [entrada, saída], por modelo, "
        "para o custo da avaliação (JSON). 'ft:<base>' vale para os fine-tunes dessa base; "
        "a data do snapshot é ignorada. Modelo sem preço: mostra só os tokens.",
    )
    juiz_modelo: str | None = Field(
        None,
        description="Modelo que compara as respostas do modelo novo e do atual, lado a lado "
        "(perguntado duas vezes, com a ordem trocada). Vazio = avaliação sem juiz.",
    )
    juiz_endpoint: str | None = Field(
        None,
        description="URL base compatível com a OpenAI do juiz (ex.: http://vllm:8000/v1). "
        "Vazio = a da OpenAI (OPENAI_BASE_URL).",
    )
    juiz_api_key: SecretStr | None = Field(
        None,
        description="Chave da API do endpoint do juiz. Vazio = OPENAI_API_KEY.",
    )

    # Together AI and the team's vLLM
    together_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("TOGETHER_API_KEY"),
        description="Chave da API da Together AI (lida também pelo SDK). Necessária só para "
        "fine-tuning de modelos abertos (LoRA) na Together.",
    )
    together_base_url: str | None = Field(
        None,
        validation_alias=_env("TOGETHER_BASE_URL"),
        description="URL base da API da Together AI, sem /v1 (lida pelo SDK); útil para "
        "proxies e testes.",
    )
    vllm_url: str | None = Field(
        None,
        description="URL base do vLLM da equipe, compatível com a API da OpenAI, com /v1 "
        "(ex.: http://vllm:8000/v1). É onde os adaptadores LoRA são carregados e testados.",
    )
    vllm_api_key: SecretStr | None = Field(
        None,
        description="Chave do vLLM da equipe (o --api-key do servidor), se ele exigir uma.",
    )
    vllm_url_bot: str | None = Field(
        None,
        description="URL do vLLM que o bot deve chamar, gravada no Redis do cliente junto com "
        "o nome do adaptador. Padrão: a mesma de CURADORIA_VLLM_URL.",
    )
    adapters_dir: Path = Field(
        PROJECT_ROOT / "data" / "adapters",
        description="Pasta onde os adaptadores LoRA baixados da Together são guardados (uma "
        "subpasta por job). O vLLM precisa enxergar o mesmo caminho.",
    )
    provedor_padrao: Literal["openai", "together"] = Field(
        "openai",
        description="Provedor de fine-tuning sugerido ao iniciar um treino: openai ou together.",
    )
    modelos_base_together: str = Field(
        "Qwen/Qwen3.5-9B,Qwen/Qwen3-8B,meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        description="Modelos base oferecidos para fine-tuning LoRA na Together, separados por "
        "vírgula; o primeiro é o padrão. O vLLM da equipe precisa servir o mesmo modelo base.",
    )

    # Models that shut down (core.finetune.sunset)
    dias_aviso_desligamento: int = Field(
        45, ge=0,
        description="Com quantos dias de antecedência o painel avisa que o modelo de um cliente "
        "será desligado pelo provedor.",
    )
    dias_antes_desligamento: int = Field(
        2, ge=0,
        description="Quantos dias antes do desligamento o poller troca sozinho o modelo do bot "
        "(para o fine-tune mais novo que não será desligado, senão para o de contingência).",
    )
    modelo_contingencia: str | None = Field(
        None,
        description="Modelo de contingência padrão, para onde o poller move um bot cujo modelo "
        "vai ser desligado (cada cliente pode ter o seu na página Clientes). Vazio = nenhum.",
    )
    modelo_contingencia_endpoint: str = Field(
        "https://api.openai.com/v1",
        description="URL (compatível com a OpenAI) onde o bot chama o modelo de contingência "
        "padrão.",
    )

    @model_validator(mode="after")
    def _vllm_url_bot_defaults_to_vllm_url(self) -> Settings:
        if not self.vllm_url_bot:
            self.vllm_url_bot = self.vllm_url
        return self


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the environment is read again (tests, CLI)."""
    get_settings.cache_clear()


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"CURADORIA_{field.upper()}"


def describe_settings() -> list[dict[str, str]]:
    """One row per setting: env var, default and help text (for the README and the CLI)."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, Path):
            default = default.relative_to(PROJECT_ROOT) if default.is_relative_to(PROJECT_ROOT) else default
        if info.default_factory is not None:
            default = json.dumps(info.default_factory(), default=str)
        if name == "database_url":
            default = "sqlite:///data/curadoria.db"
        rows.append(
            {
                "env": env_name(name),
                "default": "" if default is None else str(default),
                "help": info.description or "",
            }
        )
    return rows
