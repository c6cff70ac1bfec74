#!/usr/bin/env bash
# End-to-end check of docker-compose.yml: the poller runs as its own service next to the
# dashboard, imports from the stack's Redis, follows a fine-tuning job on a fake OpenAI
# API, puts the model into use (database + Redis), notifies once, and stops on SIGTERM.
#
#   deploy/compose-check/run.sh          (needs a running Docker engine; root for debootstrap)
#
# Where Docker Hub cannot be reached, python:3.11-slim, postgres:15 and redis:7 are built
# locally from Debian bookworm (standins/, base made with debootstrap) under the same tags.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
docker info >/dev/null 2>&1 || { echo "Docker não está rodando (docker info falhou)." >&2; exit 2; }
if docker compose version >/dev/null 2>&1; then DC=(docker compose); else DC=(docker-compose); fi
DC+=(-p curadoria-check -f docker-compose.yml -f deploy/compose-check/fake.yml)
say() { printf '==> %s\n' "$*"; }

standin() {  # tag dir
    docker image inspect "$1" >/dev/null 2>&1 && return
    timeout 60 docker pull "$1" >/dev/null 2>&1 && return
    if ! docker image inspect debian:bookworm-local >/dev/null 2>&1; then
        say "imagem base debian:bookworm-local (debootstrap)"
        rm -rf /tmp/curadoria-rootfs
        debootstrap --variant=minbase bookworm /tmp/curadoria-rootfs http://deb.debian.org/debian >/dev/null
        tar -C /tmp/curadoria-rootfs -c . | docker import - debian:bookworm-local >/dev/null
    fi
    say "substituta local de $1 ($2)"
    cp /etc/ssl/certs/ca-certificates.crt "$HERE/standins/$2/host-ca.crt"
    docker build -q -t "$1" "$HERE/standins/$2" >/dev/null
    rm -f "$HERE/standins/$2/host-ca.crt"
}
standin python:3.11-slim python
standin postgres:15 postgres
standin redis:7 redis

cleanup() { "${DC[@]}" down -v >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
say "build + up (poller a cada 5 s)"
"${DC[@]}" build -q >/dev/null 2>&1
CURADORIA_POLLER_INTERVAL_SECONDS=5 "${DC[@]}" up -d >/dev/null 2>&1
"${DC[@]}" ps

wait_for() {  # service pattern seconds
    for _ in $(seq "$3"); do
        "${DC[@]}" logs --no-color "$1" 2>/dev/null | grep -q -E "$2" && return 0
        sleep 1
    done
    "${DC[@]}" logs --no-color --tail=15 "$1" >&2; echo "FALHOU: '$2' não apareceu no log de $1" >&2; exit 1
}
wait_for dashboard "Uvicorn server started|You can now view" 120
wait_for poller "acao=poller_inicio" 120
say "dois serviços separados: $("${DC[@]}" ps --services | tr '\n' ' ')"

say "conversas do bot no Redis da stack; cliente com essa fonte"
"${DC[@]}" exec -T dashboard python -m core demo --redis --cliente padaria-pao-dourado --conversas 80
"${DC[@]}" exec -T dashboard python -m core ingest --cliente loja-check --redis-url redis://redis:6379/0
NOW=$(date +%s%3N); N=5511900001111; K1="conversation:$N:$NOW"; K2="conversation:$N:$((NOW + 900))"
"${DC[@]}" exec -T redis redis-cli MSET \
    "$K1" "{\"role\":\"user\",\"content\":\"Qual o prazo para Campinas?\",\"timestamp\":$NOW,\"phoneNumber\":\"$N\"}" \
    "$K2" "{\"role\":\"assistant\",\"content\":\"Dois dias úteis.\",\"timestamp\":$((NOW + 900)),\"phoneNumber\":\"$N\"}" >/dev/null
"${DC[@]}" exec -T redis redis-cli RPUSH all_conversations "$K1" "$K2" >/dev/null  # one push: one cycle sees both
wait_for poller "acao=importacao cliente=loja-check lidas=2 mensagens_novas=2" 60
say "o poller importou as 2 mensagens novas"

say "avaliações (SQL) e início do fine-tuning pelo CLI"
"${DC[@]}" exec -T postgres psql -q -U curadoria -d curadoria -c \
    "UPDATE conversas SET avaliacao = CASE WHEN id % 4 = 0 THEN 'ruim' ELSE 'boa' END
     WHERE cliente_id = (SELECT id FROM clientes WHERE slug = 'loja-check')"
"${DC[@]}" exec -T dashboard python -m core finetune start --cliente loja-check --yes --usuario admin | tail -1
wait_for poller "acao=job_atualizado .*status=running" 60
wait_for poller "acao=modelo_aplicado job=1 cliente=loja-check" 90
MODELO=$("${DC[@]}" exec -T redis redis-cli GET curadoria:modelo_ativo | tr -d '\r')
BANCO=$("${DC[@]}" exec -T postgres psql -At -U curadoria -d curadoria -c \
    "SELECT modelo_ativo FROM clientes WHERE slug = 'loja-check'" | tr -d '\r')
NOTIF=$("${DC[@]}" exec -T postgres psql -At -U curadoria -d curadoria -c \
    "SELECT count(*) FROM notificacoes" | tr -d '\r')
echo "Redis: $MODELO | banco: $BANCO | notificações: $NOTIF"
[[ "$MODELO" == ft:* && "$MODELO" == "$BANCO" && "$NOTIF" == 1 ]] || { echo "FALHOU: modelo/notificação" >&2; exit 1; }
sleep 12  # two more cycles: nothing applied or notified again
NOTIF=$("${DC[@]}" exec -T postgres psql -At -U curadoria -d curadoria -c "SELECT count(*) FROM notificacoes" | tr -d '\r')
[[ "$NOTIF" == 1 ]] || { echo "FALHOU: $NOTIF notificações" >&2; exit 1; }

say "SIGTERM: docker stop do poller"
CID=$("${DC[@]}" ps -q poller)
SINCE=$(date +%s)
docker stop -t 10 "$CID" >/dev/null
MS=$(docker events --since "$SINCE" --until "$(( $(date +%s) + 1 ))" --filter "container=$CID" \
     --format '{{.TimeNano}} {{.Action}}' | awk '/kill/{k=$1} /die/{d=$1} END{printf "%.0f", (d-k)/1e6}')
CODE=$(docker inspect -f '{{.State.ExitCode}}' "$CID")
echo "sinal -> fim: $MS ms, código de saída $CODE"
[[ "$CODE" == 0 && "$MS" -lt 1000 ]] || { echo "FALHOU: parada" >&2; exit 1; }
say "OK: compose roda o poller como serviço próprio ao lado do dashboard"
