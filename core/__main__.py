"""The command line: `python -m core <command>`. Each command calls one core function and
turns domain errors into a clean pt-BR message and a non-zero exit code."""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
import time

from core.errors import CuradoriaError


def cmd_migrate(args) -> None:
    from core.db.migrate import prepare_database

    revision, path = prepare_database()
    print(f"Banco atualizado (revisão {revision}).")
    if path:
        print(f"Primeiro acesso: usuário 'admin', senha gravada em {path} (troque no primeiro login).")


def _anchor(args) -> dt.datetime:
    from core.clock import local_midnight_utc
    from core.demo.generate import default_anchor

    if not args.ate:
        return default_anchor()
    try:
        day = dt.date.fromisoformat(args.ate)
    except ValueError:
        raise CuradoriaError(f"Data inválida em --ate: '{args.ate}'. Use AAAA-MM-DD.") from None
    return local_midnight_utc(day + dt.timedelta(days=1))


def cmd_demo(args) -> None:
    from core.demo import generate as demo

    anchor = _anchor(args)
    conversas = demo.generate_conversations(args.conversas, args.seed, anchor)
    started = time.perf_counter()
    if args.redis:
        summary = _demo_redis(args, demo, conversas)
        print(f"Redis: {summary.chaves_redis} chaves de mensagem em {summary.conversas} conversas "
              f"({summary.mensagens} gravadas, {summary.expiradas} já expiradas, "
              f"{summary.colisoes} colisões no mesmo milissegundo) em "
              f"{time.perf_counter() - started:.1f} s.")
        return
    from core.db import get_engine, upgrade_database

    upgrade_database()
    engine = get_engine()
    if args.if_empty and demo.has_conversations(engine):
        print("O banco já tem conversas; nada foi gerado (--if-empty).")
        return
    if args.substituir:
        demo.delete_demo_data(engine)
    summary = demo.load_database(engine, conversas, anchor)
    print(f"{summary.conversas} conversas e {summary.mensagens} mensagens de "
          f"{summary.clientes} clientes gravadas em {time.perf_counter() - started:.1f} s.")


def _demo_redis(args, demo, conversas):
    import redis

    from core.config import get_settings
    from core.demo.content import CLIENTES

    url = args.redis_url or get_settings().redis_url
    if not url:
        raise CuradoriaError("Informe o Redis com --redis-url ou REDIS_URL.")
    if args.cliente:
        clientes = [c for c in CLIENTES if c["slug"] == args.cliente]
        if not clientes:
            slugs = ", ".join(c["slug"] for c in CLIENTES)
            raise CuradoriaError(f"Cliente de demonstração desconhecido: '{args.cliente}'. Use um de: {slugs}.")
        conversas = demo.generate_conversations(args.conversas, args.seed, _anchor(args), clientes)
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise CuradoriaError(f"Não foi possível conectar ao Redis em {url}: {exc}") from None
    return demo.load_redis(client, conversas, prefix=args.prefix, seed=args.seed)


def cmd_admin_create(args) -> None:
    from core.auth import create_admin
    from core.db import session_scope, upgrade_database

    upgrade_database()
    senha = args.senha or _ask_password()
    with session_scope() as session:
        create_admin(session, args.usuario, senha, nome=args.nome or "")
    print(f"Administrador '{args.usuario}' criado.")


def cmd_admin_password(args) -> None:
    from core.auth import set_password
    from core.db import session_scope

    senha = args.senha or _ask_password()
    with session_scope() as session:
        set_password(session, args.usuario, senha, trocar_senha=args.trocar)
    print(f"Senha de '{args.usuario}' alterada.")


def _ask_password() -> str:
    try:
        senha = getpass.getpass("Senha: ")
        repetida = getpass.getpass("Repita a senha: ")
    except EOFError:
        raise CuradoriaError("Não há terminal para digitar a senha: informe-a com --senha.") from None
    if senha != repetida:
        raise CuradoriaError("As senhas não conferem.")
    return senha


def _print_preview(preview) -> None:
    print(f"Iniciar fine-tuning do cliente {preview.cliente_nome} ({preview.slug})?")
    if preview.metodo == "dpo":
        print(f"  Método: preferências (DPO), {preview.conversas_usadas} respostas corrigidas")
    else:
        print(f"  Conversas usadas: {preview.conversas_usadas}")
    print(f"  Tokens faturados: {preview.tokens_faturados} ({preview.epocas} épocas)")
    print(f"  Provedor: {preview.provedor_nome}")
    if preview.custo_usd is None:
        print("  Custo estimado: indisponível")
    elif preview.provedor == "openai":
        print(f"  Custo estimado: R$ {preview.custo_brl} (US$ {preview.custo_usd})")
    else:
        tokens = (f" para {preview.tokens_provedor} tokens de treino"
                  if preview.tokens_provedor else "")
        print(f"  Custo estimado pelo provedor: US$ {preview.custo_usd} (R$ {preview.custo_brl})"
              f"{tokens}")
    print(f"  Tempo estimado: {preview.tempo_estimado}")
    print(f"  Modelo base: {preview.modelo_base} — {preview.desligamento}")
    for aviso in preview.avisos:
        print(f"  AVISO: {aviso}")
    print("  O processo não pode ser cancelado.")


def cmd_finetune_start(args) -> None:
    from core.db import get_engine, session_scope
    from core.finetune.start import find_cliente_id, preview_fine_tuning, start_fine_tuning

    engine = get_engine()
    with session_scope(engine) as session:
        cliente_id = find_cliente_id(session, args.cliente)
        preview = preview_fine_tuning(session, cliente_id, provedor=args.provedor,
                                      modelo_base=args.modelo_base, metodo=args.metodo)
    _print_preview(preview)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CuradoriaError("Confirmação necessária: rode no terminal ou use --yes.")
        if input("Confirmar? [s/N] ").strip().lower() not in ("s", "sim", "y", "yes"):
            print("Nada foi feito.")
            return
    usuario = args.usuario or getpass.getuser()
    result = start_fine_tuning(engine, cliente_id, usuario, provedor=preview.provedor,
                               modelo_base=preview.modelo_base, metodo=args.metodo)
    print(f"Fine-tuning iniciado: job #{result.job_id}, status {result.status}, "
          f"job no provedor {result.openai_job_id}.")


def cmd_finetune_status(args) -> None:
    from core.clock import format_local
    from core.db import session_scope
    from core.finetune.jobs import get_job_resumo, list_jobs

    def when(value):
        return format_local(value) if value else "—"

    with session_scope() as session:
        if args.id is not None:
            job = get_job_resumo(session, args.id)
            print(f"Job #{job.id} — {job.cliente_nome} ({job.cliente_slug})")
            print(f"  Status: {job.status} ({job.status_label})"
                  + (f", no provedor: {job.status_provedor}" if job.status_provedor else ""))
            if job.progresso is not None:
                print(f"  Progresso: {job.progresso}%")
            print(f"  Job no provedor: {job.openai_job_id or '—'}")
            print(f"  Conversas usadas: {job.conversas_usadas if job.conversas_usadas is not None else '—'}"
                  + (" (respostas corrigidas, treino por preferências DPO)" if job.metodo == "dpo" else ""))
            print(f"  Modelo base: {job.modelo_base or '—'}")
            print(f"  Modelo treinado: {job.modelo_fine_tuned or '—'}")
            print(f"  Custo estimado: R$ {job.custo_estimado if job.custo_estimado is not None else '—'}")
            print(f"  Iniciado por: {job.iniciado_por or '—'} em {when(job.created_at)}")
            print(f"  Concluído em: {when(job.completed_at)}")
            if job.erro:
                print(f"  Erro: {job.erro}")
            return
        jobs = list_jobs(session, cliente_id=None, limit=args.limite)
    if not jobs:
        print("Nenhum job de fine-tuning.")
        return
    for job in jobs:
        print(f"#{job.id}\t{job.cliente_slug}\t{job.status}\t{when(job.created_at)}\t"
              f"{job.modelo_fine_tuned or job.modelo_base or '—'}"
              + (f"\t{job.erro}" if job.erro else ""))


def cmd_export(args) -> int:
    from pathlib import Path

    from core.training.dataset import export_dataset
    from core.db import session_scope, upgrade_database

    upgrade_database()
    with session_scope() as session:
        if args.formato == "dpo":
            from core.training.preference import export_preferences

            report = export_preferences(session, args.cliente, Path(args.out))
        else:
            report = export_dataset(session, args.cliente, Path(args.out))
    print("\n".join(report.lines()))
    return 0 if report.ok else 2


def cmd_correcoes_importar(args) -> int:
    from pathlib import Path

    from core.db import session_scope, upgrade_database
    from core.review.corrections_csv import import_csv

    upgrade_database()
    with session_scope() as session:
        report = import_csv(session, Path(args.arquivo), args.usuario or getpass.getuser())
    print("\n".join(report.lines()))
    return 1 if report.rejeitadas else 0


def cmd_correcoes_exportar(args) -> None:
    from pathlib import Path

    from core.db import session_scope, upgrade_database
    from core.review.corrections_csv import export_csv

    upgrade_database()
    with session_scope() as session:
        n = export_csv(session, Path(args.arquivo), args.cliente)
    print(f"{n} correção(ões) gravada(s) em {args.arquivo}.")


def cmd_ingest(args) -> int:
    from core.db import get_engine, upgrade_database
    from core.ingest.pipeline import database_failure, ingest_cliente

    try:
        upgrade_database()
    except Exception as exc:
        reason = database_failure(exc)
        if reason is None:
            raise
        raise CuradoriaError(f"Não foi possível acessar o banco de dados ({reason}).") from None
    summary = ingest_cliente(get_engine(), args.cliente, redis_url=args.redis_url)
    print(summary.texto())
    return 1 if summary.erro else 0


def classifier_summary(classificador) -> str:
    uso = classificador.uso
    linhas = [f"Classificador LLM ({classificador.modelo}): {uso.perguntadas} conversas "
              f"perguntadas, {uso.do_cache} do cache, {uso.acima_do_limite} acima do limite "
              f"(CURADORIA_CLASSIFICADOR_MAX_CONVERSAS={classificador.max_conversas}; "
              "analisadas pelas regras)."]
    if uso.custo_estimado_usd is not None:
        linhas.append(f"Custo estimado: US$ {uso.custo_estimado_usd}; medido: US$ {uso.custo_usd} "
                      f"({uso.tokens_entrada} tokens de entrada, {uso.tokens_saida} de saída).")
    else:
        linhas.append(f"Tokens: {uso.tokens_entrada} de entrada, {uso.tokens_saida} de saída "
                      "(modelo sem preço em CURADORIA_AVALIACAO_PRECOS_USD).")
    if uso.falhou:
        linhas.append(f"O endpoint falhou; o resto foi analisado pelas regras: {uso.falhou}")
    return "\n".join(linhas)


def cmd_analyze(args) -> None:
    from core.review.analysis import analyze_pending, count_pending, queue_all
    from core.db import get_engine, session_scope, upgrade_database

    upgrade_database()
    engine = get_engine()
    if args.limite is not None and args.limite < 1:
        raise CuradoriaError("--limite precisa ser um número positivo.")
    if args.refazer:
        with session_scope(engine) as session:
            print(f"{queue_all(session)} conversas colocadas na fila para reanálise.")
    from core.review.classifier import classifier_from_settings

    classificador = classifier_from_settings(args.classificador)
    if args.classificador == "llm" and classificador is None:
        print("Classificador LLM sem modelo (CURADORIA_CLASSIFICADOR_MODELO): valem as regras.")
    started = time.perf_counter()
    feitas = analyze_pending(engine, limite=args.limite, classificador=classificador)
    with session_scope(engine) as session:
        restantes = count_pending(session)
    print(f"{feitas} conversas analisadas em {time.perf_counter() - started:.1f} s; "
          f"{restantes} ainda na fila.")
    if classificador is not None:
        print(classifier_summary(classificador))


def cmd_modelo_aplicar(args) -> None:
    from core.db import session_scope
    from core.finetune.deploy import apply_model

    with session_scope() as session:
        result = apply_model(session, args.cliente, args.modelo, args.endpoint,
                             usuario=args.usuario or getpass.getuser())
    for aviso in result.avisos:
        print(f"AVISO: {aviso}")
    redis = "" if result.redis_gravado else " (não gravado no Redis do cliente: o poller tenta de novo)"
    print(f"Modelo em uso: {result.modelo_em_uso} em {result.endpoint or '—'} "
          f"(antes: {result.modelo_anterior}){redis}.")


def cmd_settings(_args) -> None:
    from core.config import describe_settings

    for row in describe_settings():
        print(f"{row['env']}={row['default']}\n    {row['help']}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Curadoria: linha de comando.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="comando")

    p = sub.add_parser("migrate", help="Atualiza o banco para o esquema mais novo (e cria o primeiro admin).")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("demo", help="Gera conversas de demonstração (no banco ou, com --redis, no Redis).")
    p.add_argument("--conversas", type=int, default=2000, help="Quantas conversas (padrão 2000).")
    p.add_argument("--seed", type=int, default=42, help="Semente: a mesma semente gera os mesmos dados.")
    p.add_argument("--ate", metavar="AAAA-MM-DD",
                   help="Último dia das conversas (padrão: ontem, no fuso configurado).")
    p.add_argument("--if-empty", action="store_true", help="Só gera se o banco não tiver conversas.")
    p.add_argument("--substituir", action="store_true", help="Apaga antes os dados de demonstração.")
    p.add_argument("--redis", action="store_true", help="Grava no Redis, no formato do bot.")
    p.add_argument("--redis-url", help="Redis de destino (padrão: REDIS_URL).")
    p.add_argument("--prefix", default="", help="Prefixo das chaves no Redis.")
    p.add_argument("--cliente", help="Com --redis: só as conversas deste cliente de demonstração.")
    p.set_defaults(func=cmd_demo)

    admin = sub.add_parser("admin", help="Administradores do painel.").add_subparsers(
        dest="admin_command", required=True, metavar="ação")
    p = admin.add_parser("create", help="Cria um administrador.")
    p.add_argument("usuario")
    p.add_argument("--nome")
    p.add_argument("--senha", help="Senha (se omitida, é pedida no terminal).")
    p.set_defaults(func=cmd_admin_create)
    p = admin.add_parser("set-password", help="Define a senha de um administrador.")
    p.add_argument("usuario")
    p.add_argument("--senha", help="Senha (se omitida, é pedida no terminal).")
    p.add_argument("--trocar", action="store_true", help="Exige troca no próximo login.")
    p.set_defaults(func=cmd_admin_password)

    finetune = sub.add_parser("finetune", help="Fine-tuning: iniciar e acompanhar jobs.").add_subparsers(
        dest="finetune_command", required=True, metavar="ação")
    p = finetune.add_parser("start", help="Inicia o fine-tuning de um cliente (o mesmo do botão do painel).")
    p.add_argument("--cliente", required=True, metavar="SLUG", help="Slug do cliente.")
    p.add_argument("--provedor", choices=("openai", "together"),
                   help="Onde treinar (padrão: o provedor do cliente, ou CURADORIA_PROVEDOR_PADRAO).")
    p.add_argument("--modelo-base", metavar="MODELO",
                   help="Modelo base do catálogo do provedor (padrão: o do cliente).")
    p.add_argument("--metodo", choices=("sft", "dpo"), default="sft",
                   help="sft: supervisionado, com as conversas boas (padrão); dpo: por "
                   "preferências, com as respostas corrigidas (mínimo CURADORIA_MIN_CORRECOES).")
    p.add_argument("--yes", action="store_true", help="Não pede confirmação.")
    p.add_argument("--usuario", help="Quem inicia (padrão: o usuário do sistema).")
    p.set_defaults(func=cmd_finetune_start)
    p = finetune.add_parser("status", help="Mostra um job (com ID) ou os jobs mais recentes.")
    p.add_argument("id", nargs="?", type=int, help="ID do job (fine_tuning_jobs.id).")
    p.add_argument("--limite", type=int, default=20, help="Quantos jobs listar (padrão 20).")
    p.set_defaults(func=cmd_finetune_status)
    from core.finetune.approval_cli import add_commands as add_evaluation_commands

    add_evaluation_commands(finetune)  # avaliar, aprovar, rejeitar

    p = sub.add_parser("export", help="Gera o arquivo de treino (JSONL) exatamente como seria "
                       "enviado e mostra o relatório; código de saída 2 se ele não seria aceito.")
    p.add_argument("--cliente", required=True, help="Identificador (slug) do cliente.")
    p.add_argument("--out", required=True, metavar="ARQUIVO.jsonl",
                   help="Arquivo de treino; o de validação fica ao lado (ARQUIVO-validation.jsonl).")
    p.add_argument("--formato", choices=("sft", "dpo"), default="sft",
                   help="sft: conversas (padrão); dpo: preferências, uma linha por correção "
                   "(input, preferred_output, non_preferred_output), sem arquivo de validação.")
    p.set_defaults(func=cmd_export)

    correcoes = sub.add_parser("correcoes", help="Correções das respostas do bot, em lote (CSV "
                               "com conversa_id, mensagem_id, resposta_correta).").add_subparsers(
        dest="correcoes_command", required=True, metavar="ação")
    p = correcoes.add_parser("importar", help="Importa correções de um CSV (UTF-8); relata cada "
                             "linha rejeitada; importar de novo não duplica nada.")
    p.add_argument("arquivo", metavar="ARQUIVO.csv")
    p.add_argument("--usuario", help="Quem corrigiu (padrão: o usuário do sistema).")
    p.set_defaults(func=cmd_correcoes_importar)
    p = correcoes.add_parser("exportar", help="Grava todas as correções num CSV (UTF-8).")
    p.add_argument("arquivo", metavar="ARQUIVO.csv")
    p.add_argument("--cliente", metavar="SLUG", help="Só as correções deste cliente.")
    p.set_defaults(func=cmd_correcoes_exportar)

    p = sub.add_parser("ingest", help="Importa as conversas do Redis do bot de um cliente.")
    p.add_argument("--cliente", required=True, metavar="SLUG",
                   help="Identificador do cliente (criado se não existir).")
    p.add_argument("--redis-url", help="Redis do bot para esta importação (padrão: o do cliente, "
                   "ou REDIS_URL). Um cliente novo guarda esta URL.")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("analyze", help="Analisa as conversas novas ou alteradas (problemas, "
                       "tópicos, avaliação sugerida).")
    p.add_argument("--limite", type=int, help="No máximo N conversas nesta execução (padrão: todas na fila).")
    p.add_argument("--refazer", action="store_true",
                   help="Recoloca todas as conversas na fila (depois de mudar regras ou tópicos).")
    p.add_argument("--classificador", choices=("regras", "llm"),
                   help="Detector de problemas (padrão: CURADORIA_CLASSIFICADOR). 'llm' usa "
                   "CURADORIA_CLASSIFICADOR_MODELO, com cache e limite por execução; sem modelo "
                   "ou com o endpoint falhando, valem as regras.")
    p.set_defaults(func=cmd_analyze)

    modelo = sub.add_parser("modelo", help="O modelo que o bot de um cliente usa.").add_subparsers(
        dest="modelo_command", required=True, metavar="ação")
    p = modelo.add_parser("aplicar", help="Coloca um modelo em uso (o mesmo da página Clientes); "
                          "recusa um modelo já desligado pelo provedor.")
    p.add_argument("--cliente", required=True, metavar="SLUG", help="Slug do cliente.")
    p.add_argument("--modelo", required=True, help="Nome do modelo (id da OpenAI ou adaptador).")
    p.add_argument("--endpoint", metavar="URL", help="URL .../v1 onde o bot chama o modelo "
                   "(padrão: derivada do nome).")
    p.add_argument("--usuario", help="Quem aplica (padrão: o usuário do sistema).")
    p.set_defaults(func=cmd_modelo_aplicar)

    from core.clientes.dados_proprios import add_commands as add_cliente_commands

    add_cliente_commands(sub)  # cliente dados-proprios

    p = sub.add_parser("settings", help="Lista as configurações e seus valores padrão.")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except CuradoriaError as exc:
        print(f"Erro: {exc}", file=sys.stderr)
        return 1
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
