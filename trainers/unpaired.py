"""Two folders of unpaired images (domain A, domain B) for the architectures that translate between
them (CycleGAN): each folder decoded once, with the same checks and bad-file report as a single
training folder. A batch is an A batch in the loop's data order plus an independent B batch drawn
at random from the run's generator (as the paper's unaligned loader does), so a resumed run draws
the same pairs. A new model takes its ``domains`` from the folders' names; a resumed or fine-tuned
one keeps its own.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genstudio.core.data.images import DatasetReport, load_image_folder, make_grid, to_grayscale
from genstudio.core.errors import ConfigError, DatasetError
from genstudio.core.events import Progress
from genstudio.models.common import from_uint8, to_uint8
from trainers import images as image_data

SIDES = ("A", "B")


@dataclass
class UnpairedData:
    images: torch.Tensor  # domain A, N_A×H×W×C uint8: the loop's data order runs over these
    images_b: torch.Tensor  # domain B, N_B×H×W×C uint8: drawn at random for each batch

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class UnpairedReport:
    """Both folders' reports, read as one: what the log prints and what the card records."""

    a: DatasetReport
    b: DatasetReport
    domains: tuple[str, str]

    def summary(self) -> dict:
        return {"folder": self.a.root, "folder_b": self.b.root, "domains": list(self.domains),
                "images": len(self.a.used) + len(self.b.used), "images_a": len(self.a.used),
                "images_b": len(self.b.used), "skipped": len(self.a.skipped) + len(self.b.skipped),
                "image_size": self.a.image_size}

    def to_text(self, max_listed: int = 50) -> str:
        parts = [f"Domain {side} ({name}): {report.to_text(max_listed)}"
                 for side, name, report in zip(SIDES, self.domains, (self.a, self.b))]
        return "\n".join(parts)


def domain_names(folder_a: str, folder_b: str) -> tuple[str, str]:
    """The folders' own names ("horses", "zebras"); "A: x" and "B: x" when both are called x."""
    a, b = Path(folder_a).resolve().name or "A", Path(folder_b).resolve().name or "B"
    return (a, b) if a != b else (f"A: {a}", f"B: {b}")


def load_domain(side: str, folder: str | None, size: int) -> tuple[np.ndarray, DatasetReport]:
    if not folder:
        raise DatasetError(f"This model learns from two folders; the domain {side} folder is missing "
                           f"(--data-{side.lower()} DIR).")
    try:
        return load_image_folder(folder, size)
    except DatasetError as err:
        raise DatasetError(f"Domain {side}: {err}") from None


def load_data(job) -> tuple[UnpairedData, UnpairedReport]:
    """Decode both folders once, name the domains (new runs), write the combined dataset report."""
    if job.train.quality_samples:
        raise ConfigError("The quality check scores generated samples, and this model translates instead: "
                          "set quality_samples = 0.")
    folder_a, folder_b = job.data_dir, job.data_dir_b
    if folder_a and folder_b and Path(folder_a).resolve() == Path(folder_b).resolve():
        raise DatasetError("Domain A and domain B are the same folder; choose two folders with different "
                           "kinds of images (for example photos and paintings).")
    cfg = job.model_config
    images_a, report_a = load_domain("A", folder_a, cfg.image_size)
    images_b, report_b = load_domain("B", folder_b, cfg.image_size)
    if cfg.channels == 1:
        images_a, images_b = to_grayscale(images_a), to_grayscale(images_b)
    if not (job.resume or job.from_model):
        cfg = job.model_config = dataclasses.replace(cfg, domains=domain_names(folder_a, folder_b))
    report = UnpairedReport(report_a, report_b, tuple(cfg.domains))
    nested = note_nested(folder_a, folder_b)
    if nested:
        report_a.notes.append(nested)
    (job.run_dir / "dataset_report.json").write_text(json.dumps({
        "domains": {side: {**r.summary(), "name": name, "skipped_files": [vars(s) for s in r.skipped],
                           "notes": r.notes}
                    for side, name, r in zip(SIDES, report.domains, (report_a, report_b))}}, indent=1),
        encoding="utf-8")
    return UnpairedData(torch.from_numpy(images_a), torch.from_numpy(images_b)), report


def note_nested(folder_a: str, folder_b: str) -> str:
    """A warning when one folder holds the other: the inner folder's images belong to both domains."""
    a, b = Path(folder_a).resolve(), Path(folder_b).resolve()
    if b.is_relative_to(a) or a.is_relative_to(b):
        inner = "B" if b.is_relative_to(a) else "A"
        return (f"Warning: folder {inner} is inside the other one, so its images are in both domains; "
                "keep the two domains in separate folders.")
    return ""


def make_batch(data: UnpairedData, idx: torch.Tensor, generator: torch.Generator, cfg, device):
    """(A batch, {"x_b": B batch}): A at the loop's indices, B at indices drawn from ``generator``;
    each flipped at random (``hflip``) by draws from the same generator."""
    idx_b = torch.randint(len(data.images_b), (len(idx),), generator=generator, device=generator.device).cpu()
    batch_a = image_data.make_batch(image_data.ImageData(data.images), idx, generator, cfg, device)
    batch_b = image_data.make_batch(image_data.ImageData(data.images_b), idx_b, generator, cfg, device)
    return batch_a, {"x_b": batch_b}


def preview_samples(model, n: int, seed: int, data: UnpairedData):
    """One picture of four rows: A images, their A→B translations, B images, their B→A
    translations (``n`` // 4 columns, at least 2), the images picked by ``seed``. A generator, like
    a sampler: yields one Progress, returns the picture as 1×H×W×3 uint8."""
    cols = max(2, n // 4)
    rng = np.random.default_rng(seed)
    pick_a = rng.choice(len(data.images), cols, replace=len(data.images) < cols)
    pick_b = rng.choice(len(data.images_b), cols, replace=len(data.images_b) < cols)
    device = next(model.parameters()).device
    rows = []
    with torch.inference_mode():
        for images, direction in ((data.images[pick_a], "a2b"), (data.images_b[pick_b], "b2a")):
            x = from_uint8(images).to(device)
            rows += [images.numpy(), to_uint8(model.translate(x, direction))]
    grid = np.asarray(make_grid(np.concatenate(rows), cols=cols))
    yield Progress(1, 1, stage="sample")
    return grid[None]
