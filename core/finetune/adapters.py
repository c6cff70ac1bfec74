"""A LoRA adapter on disk: safe unpacking of a downloaded archive and its verification.

Used by the Together provider's `download_adapter` (the archive Together sends is a
.tar.zst) and by `core.finetune.open_deploy`, which loads a verified adapter into the
team's vLLM. Every problem is an `AdapterInvalid` with a pt-BR message: a corrupt or
unsafe archive, missing files, or an adapter trained on another base model. Retrying
the same archive does not help, so it is permanent.
"""
from __future__ import annotations

import json
import re
import struct
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import zstandard

from core.finetune.provider import ProviderError
from core.finetune.vllm import same_base_model

MAX_UNPACKED_BYTES = 16 * 1024**3
MAX_MEMBERS = 10_000
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class AdapterInvalid(ProviderError):
    """The downloaded adapter is unusable: corrupt, unsafe, incomplete or for another base."""


def extract_archive(archive: Path, dest: Path, max_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Unpack a .tar.zst (or .tar.gz / .tar) into `dest`, member by member, safely.

    Only regular files and folders with relative names inside `dest` are written; links,
    devices, absolute names and `..` are refused, and so is more than `max_bytes` unpacked.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with open(archive, "rb") as raw:
            magic = raw.read(4)
            raw.seek(0)
            if magic == _ZSTD_MAGIC:
                with zstandard.ZstdDecompressor().stream_reader(raw) as reader, \
                        tarfile.open(fileobj=reader, mode="r|") as tar:
                    _extract_members(tar, dest, max_bytes)
            else:
                with tarfile.open(fileobj=raw, mode="r|*") as tar:
                    _extract_members(tar, dest, max_bytes)
    except (tarfile.TarError, zstandard.ZstdError, EOFError) as exc:
        raise AdapterInvalid(
            "O arquivo do adaptador baixado da Together está corrompido ou incompleto "
            f"({exc}). Baixe-o de novo."
        ) from exc


def _extract_members(tar: tarfile.TarFile, dest: Path, max_bytes: int) -> None:
    total = 0
    for count, member in enumerate(tar, 1):
        if count > MAX_MEMBERS:
            raise AdapterInvalid("O arquivo do adaptador tem arquivos demais; foi descartado.")
        target = dest.joinpath(*_safe_parts(member))
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        if not member.isfile():
            raise AdapterInvalid(
                f"O arquivo do adaptador contém {member.name!r}, que não é um arquivo comum "
                "(link ou arquivo especial); por segurança ele foi descartado."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        with open(target, "wb") as out:
            while chunk := source.read(1024 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise AdapterInvalid(
                        f"O adaptador descompactado passou de {max_bytes // 1024**2} MB; "
                        "foi descartado."
                    )
                out.write(chunk)


def _safe_parts(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The member's path parts, refusing absolute names and any `..`."""
    name = member.name.replace("\\", "/")
    path = PurePosixPath(name)
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name) or ".." in parts or not parts:
        raise AdapterInvalid(
            f"O arquivo do adaptador contém um caminho inseguro ({member.name!r}); por "
            "segurança ele foi descartado."
        )
    return parts


def adapter_root(staging: Path) -> Path:
    """The folder holding adapter_config.json: the archive's top level or one folder in."""
    configs = [p for p in staging.rglob(ADAPTER_FILES[0]) if p.is_file()]
    if not configs:
        raise AdapterInvalid(
            "O arquivo baixado da Together não contém adapter_config.json: não é um "
            "adaptador LoRA."
        )
    if len(configs) > 1:
        raise AdapterInvalid("O arquivo baixado da Together contém mais de um adaptador.")
    return configs[0].parent


def verify_adapter_dir(root: Path, base_model: str | None) -> dict[str, Any]:
    """Check the adapter's files and that it was trained on `base_model`; its config."""
    config_path, weights = root / ADAPTER_FILES[0], root / ADAPTER_FILES[1]
    for path in (config_path, weights):
        if not path.is_file():
            raise AdapterInvalid(f"O adaptador está incompleto: falta {path.name}.")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdapterInvalid("O adapter_config.json do adaptador não é um JSON válido.") from exc
    if not isinstance(config, dict):
        raise AdapterInvalid("O adapter_config.json do adaptador não é um objeto JSON.")
    _check_safetensors(weights)
    trained_on = config.get("base_model_name_or_path")
    if base_model and not same_base_model(str(trained_on or ""), base_model):
        raise AdapterInvalid(
            f"O adaptador foi treinado sobre {trained_on or 'um modelo não informado'}, mas o "
            f"modelo base esperado é {base_model}; ele não pode ser servido sobre esse modelo."
        )
    return config


def _check_safetensors(path: Path) -> None:
    """A safetensors file starts with an 8-byte header size and a JSON header that fits."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        header_len = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        ok = 0 < header_len <= size - 8 and header_len <= 100 * 1024**2
        try:
            header = json.loads(fh.read(header_len)) if ok else None
        except (ValueError, UnicodeDecodeError):
            header = None
    if not isinstance(header, dict) or not _offsets_fit(header, size - 8 - header_len):
        raise AdapterInvalid(
            "O adapter_model.safetensors do adaptador está corrompido (cabeçalho inválido)."
        )


def _offsets_fit(header: dict[str, Any], data_size: int) -> bool:
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and 0 <= offsets[0] <= offsets[1] <= data_size):
            return False
    return True


