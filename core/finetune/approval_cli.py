"""`python -m core finetune avaliar|aprovar|rejeitar JOB`: the evaluation of a new model and
an admin's decision from the command line (core/__main__ registers these subcommands)."""
from __future__ import annotations

import getpass
import sys

from core import formato

DECISOES = {"aprovado": "aprovado (não é pior que o atual)",
            "aguardando_aprovacao": "aguardando aprovação de um administrador",
            "rejeitado": "rejeitado"}


def add_commands(finetune) -> None:
    """Add the three subcommands to the `finetune` subparsers."""
    p = finetune.add_parser("avaliar", help="Avalia (ou continua avaliando) o modelo novo de um "
                            "job concluído nas conversas separadas do treino, contra o atual.")
    p.add_argument("job", type=int, help="ID do job (fine_tuning_jobs.id).")
    p.add_argument("--usuario", help="Quem avalia (padrão: o usuário do sistema).")
    p.set_defaults(func=cmd_avaliar)
    p = finetune.add_parser("aprovar", help="Coloca em uso o modelo novo que aguarda aprovação.")
    p.add_argument("job", type=int, help="ID do job (fine_tuning_jobs.id).")
    p.add_argument("--usuario", help="Quem aprova (padrão: o usuário do sistema).")
    p.set_defaults(func=cmd_aprovar)
    p = finetune.add_parser("rejeitar", help="Mantém o modelo atual: o modelo novo nunca entra "
                            "em uso.")
    p.add_argument("job", type=int, help="ID do job (fine_tuning_jobs.id).")
    p.add_argument("--usuario", help="Quem rejeita (padrão: o usuário do sistema).")
    p.set_defaults(func=cmd_rejeitar)


def summary_lines(evaluation) -> list[str]:
    """The evaluation in a few pt-BR lines (CLI and logs)."""
    resumo = evaluation.resumo or {}
    lines = [f"Avaliação #{evaluation.id} do job #{evaluation.fine_tuning_job_id}: "
             f"{formato.status_provedor(evaluation.status)}, {evaluation.exemplos} conversas separadas do treino."]
    for lado, nome in (("candidato", "Modelo novo"), ("atual", "Modelo atual")):
        side = resumo.get(lado) or {}
        modelo = getattr(evaluation, f"modelo_{lado}")
        lines.append(f"  {nome} ({modelo}): {side.get('respondidos', 0)} respostas, "
                     f"{side.get('respostas_com_problema', 0)} com problema, chrF médio "
                     f"{_num(side.get('chrf_medio'))}, custo {formato.dinheiro(side.get('custo_usd'), 'US$')}")
    juiz = resumo.get("juiz")
    if juiz:
        lines.append(f"  Juiz ({juiz['modelo']}): novo venceu {juiz['vitorias']}, atual venceu "
                     f"{juiz['derrotas']}, {juiz['empates']} empates "
                     f"(taxa de vitória {formato.percentual(juiz.get('taxa_vitoria'))})")
    if resumo:
        lines.append(f"  Pioraram: {resumo.get('piorou', 0)}; melhoraram: "
                     f"{resumo.get('melhorou', 0)}; custo total "
                     f"{formato.dinheiro(resumo.get('custo_usd'), 'US$')}")
    if evaluation.erro:
        lines.append(f"  Erro: {evaluation.erro}")
    if evaluation.decisao:
        quem = f" por {evaluation.decidida_por}" if evaluation.decidida_por else ""
        lines.append(f"  Decisão: {DECISOES.get(evaluation.decisao, evaluation.decisao)}{quem}")
    return lines


def _num(value) -> str:
    return formato.decimal(value)


def _usuario(args) -> str:
    return args.usuario or getpass.getuser()


def cmd_avaliar(args) -> int:
    from core.db import get_engine, upgrade_database
    from core.finetune.gate import evaluate_job

    def progresso(feitas: int, total: int) -> None:
        print(f"\r  {feitas}/{total} respostas", end="", file=sys.stderr, flush=True)

    upgrade_database()
    evaluation = evaluate_job(get_engine(), args.job, usuario=_usuario(args),
                              progresso=progresso)
    print(file=sys.stderr)
    print("\n".join(summary_lines(evaluation)))
    if evaluation.status != "concluida":
        print("A avaliação não terminou; rode o mesmo comando de novo para continuar de onde "
              "parou.", file=sys.stderr)
        return 1
    return 0


def cmd_aprovar(args) -> int:
    from core.db import get_engine, upgrade_database
    from core.finetune.gate import approve

    upgrade_database()
    decision = approve(get_engine(), args.job, usuario=_usuario(args))
    if decision.acao == "aplicado":
        print(f"Job #{args.job} aprovado: o modelo novo já está em uso pelo bot.")
    else:
        print(f"Job #{args.job}: o modelo novo já estava em uso; nada foi feito.")
    return 0


def cmd_rejeitar(args) -> int:
    from core.db import get_engine, upgrade_database
    from core.finetune.gate import reject

    upgrade_database()
    decision = reject(get_engine(), args.job, usuario=_usuario(args))
    if decision.acao == "rejeitado":
        print(f"Job #{args.job} rejeitado: o bot continua com o modelo atual.")
    else:
        print(f"Job #{args.job} já estava rejeitado; nada foi feito.")
    return 0
