# Shared by scripts/dashboard and scripts/test: a venv with the pinned requirements.
# REQUIREMENTS (set by scripts/test to requirements-dev.txt) picks the file; the stamp
# holds the hash of every requirements file it reads, so a change to either reinstalls.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
REQUIREMENTS="${REQUIREMENTS:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
    echo "==> criando o ambiente virtual em .venv"
    "$PY" -m venv .venv
fi
STAMP=".venv/.${REQUIREMENTS%.txt}.sha"
WANT="$(cat requirements.txt "$REQUIREMENTS" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
    echo "==> instalando dependências ($REQUIREMENTS)"
    .venv/bin/pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$WANT" > "$STAMP"
fi
