"""The poller sidecar (follows fine-tuning jobs and imports from Redis).

Not implemented yet: it exits with a clear message so that a compose file or a
supervisor configured today fails loudly instead of silently doing nothing.
"""
from __future__ import annotations

import sys


def main() -> int:
    print("O poller ainda não foi implementado nesta versão.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
