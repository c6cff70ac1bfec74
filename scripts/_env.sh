# Shared by scripts/dashboard and scripts/test: a venv with the pinned requirements.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "==> criando o ambiente virtual em .venv"
    "$PY" -m venv .venv
fi
STAMP=.venv/.requirements.sha
WANT="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
    echo "==> instalando dependências (requirements.txt)"
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$WANT" > "$STAMP"
fi
