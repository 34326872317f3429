"""The model library: one folder per model, ``card.json`` + ``weights.safetensors`` (+ ``samples.png``).

The card rebuilds the network (architecture + full config) and records where it came from (data,
steps, metrics, app version) and the sha256 of the weights. Everything written goes to a hidden
temporary folder first and is renamed into place, so a crash never leaves half a model. Everything
read is validated before use: card schema, weights hash, and tensor names and shapes against the
config. Pickle is never loaded: weights are safetensors only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genstudio import __version__
from genstudio.core.errors import GenStudioError, ModelFileError, ModelNotFound
from genstudio.core.files import write_atomic
from genstudio.core.paths import bundled_models_dir, models_dir

CARD = "card.json"
WEIGHTS = "weights.safetensors"
SAMPLES = "samples.png"
MODEL_FILES = (CARD, WEIGHTS, SAMPLES)
CARD_FORMAT = "genstudio.model/1"
REQUIRED_CARD_KEYS = {"format": str, "name": str, "arch": str, "config": dict, "weights_sha256": str,
                      "steps": int, "created": str, "app_version": str}
MAX_CARD_BYTES = 1_000_000
MAX_WEIGHTS_BYTES = 8 * 1024**3
_NAME_RE = re.compile(r"^[\w][\w .\-()]{0,63}$")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


@dataclass
class ModelInfo:
    name: str
    path: Path
    card: dict[str, Any]
    bundled: bool

    @property
    def arch(self) -> str:
        return self.card["arch"]

    @property
    def samples_path(self) -> Path | None:
        path = self.path / SAMPLES
        return path if path.is_file() else None

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not _NAME_RE.match(name) or name.endswith((".", " ")) or name.split(".")[0].lower() in _WINDOWS_RESERVED:
        raise ModelFileError(
            f"'{name}' is not a usable model name: use up to 64 letters, digits, spaces, '-', '_' or '.'"
            ", starting with a letter or digit."
        )
    return name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_card(name: str, arch: str, config: dict, *, steps: int, data: dict | None = None,
             metrics: dict | None = None, **extra: Any) -> dict[str, Any]:
    """A card with everything but the weights hash, which ``ModelStore.save`` fills in."""
    return {"format": CARD_FORMAT, "name": name, "arch": arch, "config": config, "steps": steps,
            "data": data or {}, "metrics": metrics or {},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "app_version": __version__, "weights_sha256": "", **extra}


def validate_card(card: Any, source: str) -> dict[str, Any]:
    if not isinstance(card, dict):
        raise ModelFileError(f"{source}: card.json is not a JSON object.")
    for key, kind in REQUIRED_CARD_KEYS.items():
        if not isinstance(card.get(key), kind):
            raise ModelFileError(f"{source}: card.json is malformed ('{key}' is missing or not a {kind.__name__}).")
    if card["format"] != CARD_FORMAT:
        raise ModelFileError(f"{source}: unknown model format '{card['format']}' (expected {CARD_FORMAT}).")
    if not re.fullmatch(r"[0-9a-f]{64}", card["weights_sha256"]):
        raise ModelFileError(f"{source}: card.json has no valid weights_sha256.")
    return card


def read_card(folder: Path) -> dict[str, Any]:
    path = folder / CARD
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise ModelFileError(f"{folder.name}: card.json is implausibly large.")
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{folder.name}: card.json is missing.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{folder.name}: card.json is not valid JSON ({err}).") from None
    return validate_card(card, folder.name)


def looks_like_pickle(path: Path) -> bool:
    """True for pickle streams and torch.save zips; False for safetensors (u64 header size, then '{')."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        return False
    return head.startswith(b"PK\x03\x04") or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def read_weights(path: Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """Load safetensors weights as torch tensors, refusing pickles and hash mismatches."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelFileError(f"{path.parent.name}: {WEIGHTS} is missing.")
    if looks_like_pickle(path):
        raise ModelFileError(f"{path.name} is a pickle/torch.save file, not safetensors. GenStudio never "
                             "loads pickles because they can run code; convert the weights to safetensors.")
    if expected_sha256 is not None and sha256_file(path) != expected_sha256:
        raise ModelFileError(f"{path.parent.name}: the weights do not match the hash in card.json; the "
                             "files were changed or damaged. Re-import or re-train the model.")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFileError(f"{path.parent.name}: {WEIGHTS} is not a valid safetensors file ({err}).") from None


def check_tensors_match(card: dict[str, Any], tensors: dict[str, Any]) -> None:
    """Tensor names and shapes must be those of the network the card's config builds."""
    import torch

    from genstudio.core.registry import get

    try:
        spec = get(card["arch"])
        cfg = spec.config_from(card["config"])
    except GenStudioError as err:
        raise ModelFileError(f"{card['name']}: its card does not describe a network this GenStudio can "
                             f"build ({err})") from None
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in spec.build(cfg).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in tensors.items()}
    missing, unexpected = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
    if missing or unexpected or wrong:
        detail = "; ".join(f"{label}: {', '.join(keys[:3])}{'…' if len(keys) > 3 else ''}"
                           for label, keys in (("missing", missing), ("unexpected", unexpected),
                                               ("wrong shape", wrong)) if keys)
        raise ModelFileError(f"{card['name']}: the weights do not fit the '{card['arch']}' network its "
                             f"card describes ({detail}).")


def _write_json_atomic(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))


class ModelStore:
    """The user's models (writable) beside the bundled ones (read-only)."""

    def __init__(self, root: Path | None = None, bundled: Path | None = None):
        self.root = Path(root) if root else models_dir()
        self.bundled = Path(bundled) if bundled else bundled_models_dir()

    # -- reading -----------------------------------------------------------------------------
    def _folders(self) -> list[tuple[Path, bool]]:
        found = []
        for base, bundled in ((self.root, False), (self.bundled, True)):
            if base.is_dir():
                found += [(p, bundled) for p in sorted(base.iterdir())
                          if p.is_dir() and not p.name.startswith(".")]
        return found

    def list(self) -> tuple[list[ModelInfo], list[str]]:
        """All readable models (user's first) and a message for each folder that is not one."""
        models, problems, seen = [], [], set()
        for folder, bundled in self._folders():
            try:
                card = read_card(folder)
            except ModelFileError as err:
                problems.append(str(err))
                continue
            if folder.name in seen:
                continue  # a user model shadows a bundled one of the same name
            seen.add(folder.name)
            models.append(ModelInfo(folder.name, folder, card, bundled))
        return models, problems

    def get(self, name: str) -> ModelInfo:
        for base, bundled in ((self.root, False), (self.bundled, True)):
            folder = base / name
            # A plain folder name only: "a/../../b" or an absolute path must not reach outside the library.
            if name and name == Path(name).name and not name.startswith(".") and (folder / CARD).is_file():
                return ModelInfo(name, folder, read_card(folder), bundled)
        names = ", ".join(m.name for m in self.list()[0]) or "none yet"
        raise ModelNotFound(f"No model named '{name}' in the library (models: {names}).")

    def exists(self, name: str) -> bool:
        return (self.root / name / CARD).is_file()

    def load(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(card, tensors) after checking the hash and the tensor shapes against the config."""
        info = self.get(name)
        tensors = read_weights(info.path / WEIGHTS, info.card["weights_sha256"])
        check_tensors_match(info.card, tensors)
        return info.card, tensors

    # -- writing -----------------------------------------------------------------------------
    def _staging(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))

    def _commit(self, staging: Path, name: str, overwrite: bool) -> Path:
        """Rename a complete staging folder into place (a rename is atomic on one file system)."""
        staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary folder
        for path in staging.iterdir():
            path.chmod(0o644)
        final = self.root / name
        if final.exists():
            if not overwrite:
                shutil.rmtree(staging, ignore_errors=True)
                raise ModelFileError(f"A model named '{name}' already exists. Choose another name.")
            trash = self.root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(final, trash)
            try:
                os.replace(staging, final)
            except BaseException:
                os.replace(trash, final)  # put the old model back rather than lose it
                raise
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, final)
        return final

    def save(self, card: dict[str, Any], tensors: dict[str, Any], *, samples_png: bytes | None = None,
             overwrite: bool = False) -> ModelInfo:
        from safetensors.torch import save_file

        name = check_name(card["name"])
        staging = self._staging()
        try:
            weights = staging / WEIGHTS
            save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(weights),
                      metadata={"format": "pt"})
            card = {**card, "weights_sha256": sha256_file(weights)}
            validate_card(card, name)
            _write_json_atomic(staging / CARD, card)
            if samples_png:
                (staging / SAMPLES).write_bytes(samples_png)
            return ModelInfo(name, self._commit(staging, name, overwrite), card, False)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _user_model(self, name: str) -> ModelInfo:
        info = self.get(name)
        if info.bundled:
            raise ModelFileError(f"'{name}' is a bundled model and cannot be changed; export it or "
                                 "train a copy with --from.")
        return info

    def update_card(self, name: str, changes: dict) -> ModelInfo:
        """Merge ``changes`` into a user model's card (validated, rewritten atomically; weights untouched):
        what a model learns after training, such as an anomaly detector's chosen threshold."""
        info = self._user_model(name)
        _write_json_atomic(info.path / CARD, validate_card({**info.card, **changes}, name))
        return self.get(name)

    def rename(self, old: str, new: str) -> ModelInfo:
        info = self._user_model(old)
        new = check_name(new)
        if (self.root / new).exists():
            raise ModelFileError(f"A model named '{new}' already exists.")
        _write_json_atomic(info.path / CARD, {**info.card, "name": new})
        os.replace(info.path, self.root / new)
        return self.get(new)

    def delete(self, name: str) -> None:
        info = self._user_model(name)
        trash = self.root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
        os.replace(info.path, trash)  # gone from the library at once, even if rmtree is slow
        shutil.rmtree(trash, ignore_errors=True)

    def export_zip(self, name: str, dest: Path) -> Path:
        info = self.get(name)
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for fname in MODEL_FILES:
                if (info.path / fname).is_file():
                    zf.write(info.path / fname, f"{name}/{fname}")
        os.replace(tmp, dest)
        return dest

    def import_zip(self, src: Path, name: str | None = None, overwrite: bool = False) -> ModelInfo:
        """Unpack, validate fully (card, hash, tensors), then move into the library."""
        src = Path(src)
        try:
            zf = zipfile.ZipFile(src)
        except (zipfile.BadZipFile, OSError) as err:
            raise ModelFileError(f"'{src.name}' is not a GenStudio model archive ({err}).") from None
        staging = self._staging()
        try:
            with zf:
                self._extract_model(zf, staging, src.name)
            card = read_card(staging)
            name = check_name(name or card["name"])
            if not overwrite and (self.root / name).exists():  # before the costly weight checks
                raise ModelFileError(f"A model named '{name}' is already in your library. Rename or delete "
                                     f"that one first, then import '{src.name}' again.")
            tensors = read_weights(staging / WEIGHTS, card["weights_sha256"])
            check_tensors_match(card, tensors)
            if name != card["name"]:
                card = {**card, "name": name}
                _write_json_atomic(staging / CARD, card)
            return ModelInfo(name, self._commit(staging, name, overwrite), card, False)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @staticmethod
    def _extract_model(zf: zipfile.ZipFile, dest: Path, label: str) -> None:
        members = [m for m in zf.infolist() if not m.is_dir()]
        by_file = {}
        for member in members:
            parts = Path(member.filename).parts
            fname = parts[-1] if parts else ""
            if fname not in MODEL_FILES or len(parts) > 2 or ".." in parts or member.filename.startswith("/"):
                raise ModelFileError(f"'{label}' holds an unexpected file '{member.filename}'; a model "
                                     f"archive holds only {', '.join(MODEL_FILES)}.")
            if fname in by_file:
                raise ModelFileError(f"'{label}' holds {fname} twice.")
            by_file[fname] = member
        if CARD not in by_file or WEIGHTS not in by_file:
            raise ModelFileError(f"'{label}' is not a GenStudio model: it needs {CARD} and {WEIGHTS}.")
        if by_file[CARD].file_size > MAX_CARD_BYTES or by_file[WEIGHTS].file_size > MAX_WEIGHTS_BYTES:
            raise ModelFileError(f"'{label}' has implausibly large files; refusing to unpack it.")
        for fname, member in by_file.items():
            try:
                with zf.open(member) as fin, open(dest / fname, "wb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as err:
                # Bad CRC, truncated data, unsupported compression, or encrypted (RuntimeError).
                raise ModelFileError(f"'{label}' is damaged or cannot be unpacked ({err}).") from None
