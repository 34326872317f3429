#!/usr/bin/env python
"""How soon a GAN's samples vary, on MNIST digits (../shared/data/mnist, the first 2,000 test digits,
padded to 32 px, grayscale): the README's "StyleGAN learns variety late" numbers.

``train``: trains StyleGAN (the registry's ``small`` model settings; Adam β (0, 0.99), lr 2e-3, batch
16, one D and one G step per step, no flips, one thread) or, with ``--generator dcgan``, the DCGAN
generator against the same StyleGAN discriminator, and prints every ``--every`` steps the pixel
spread of 64 seeds from the raw generator (mean over pixels of the per-pixel standard deviation in
[0, 1]; the digits' own is printed first) with the losses; ``--grids DIR`` also saves each 8×8 grid
as a PNG. ``--d-lr`` sets the discriminator's learning rate apart from G's.

``fit``: no GAN at all: each generator learns by mean squared error to map 16 fixed z to 16 digits;
prints the error at steps 25–400 and the error of drawing the mean digit for all 16. It measures how
quickly a generator learns to make z matter.

    python benchmarks/stylegan_variety.py train --steps 12000 --every 500 --grids build/variety
    python benchmarks/stylegan_variety.py train --generator dcgan --d-lr 1e-2 --steps 600
    python benchmarks/stylegan_variety.py fit
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genstudio.models.gan import DCGAN, DCGANConfig  # noqa: E402
from genstudio.models.stylegan import StyleGAN, StyleGANConfig  # noqa: E402

MNIST = REPO.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
STYLEGAN_SMALL = dict(image_size=32, channels=1, z_dim=128, w_dim=128, mapping_layers=4, g_width=16, d_width=16,
                      max_width=128, r1_gamma=0.05)
DCGAN_SMALL = dict(image_size=32, channels=1, z_dim=100, g_width=64, d_width=64, max_width=256)


def digits(n: int) -> torch.Tensor:
    with gzip.open(MNIST) as fh:
        raw = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n].copy()
    return F.pad(torch.from_numpy(raw).float() / 127.5 - 1, (2, 2, 2, 2), value=-1)[:, None]


def spread(images: torch.Tensor) -> float:
    return float(((images.clamp(-1, 1) + 1) / 2).std(0).mean())


class DCGeneratorWithStyleD(StyleGAN):
    """StyleGAN's discriminator and training step, with the DCGAN generator making the fakes."""

    def __init__(self):
        super().__init__(StyleGANConfig(**STYLEGAN_SMALL))
        self.dc = DCGAN(DCGANConfig(**DCGAN_SMALL)).generator
        del self.mapping, self.synthesis

    def optimizer_groups(self):
        return [{"params": self.dc.parameters(), "phase": "g"}, {"params": self.discriminator.parameters(), "phase": "d"}]

    def _fakes(self, batch, generator, labels, device, track):
        return self.dc(torch.randn((batch, DCGAN_SMALL["z_dim"]), generator=generator))

    def seeds(self, n: int) -> torch.Tensor:
        return self.dc(torch.randn((n, DCGAN_SMALL["z_dim"]), generator=torch.Generator().manual_seed(0)))


def samples(model) -> torch.Tensor:
    with torch.no_grad():
        if isinstance(model, DCGeneratorWithStyleD):
            return model.seeds(64)
        return model.synthesize(model.styles(list(range(64)), 1.0, -1))


def save_grid(images: torch.Tensor, path: Path) -> None:
    from PIL import Image

    x = ((images.clamp(-1, 1) + 1) * 127.5).round().byte()[:, 0].numpy()
    grid = x.reshape(8, 8, 32, 32).transpose(0, 2, 1, 3).reshape(256, 256)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((384, 384), Image.NEAREST).save(path)


def train(args) -> None:
    torch.manual_seed(0)
    data = digits(2000)
    print(json.dumps({"data_spread": round(spread(data[:64]), 3)}), flush=True)
    model = DCGeneratorWithStyleD() if args.generator == "dcgan" else StyleGAN(StyleGANConfig(**STYLEGAN_SMALL))
    groups = [{**g, "params": list(g["params"])} for g in model.optimizer_groups()]
    for g in groups:
        g["lr"] = args.d_lr if g["phase"] == "d" and args.d_lr else args.lr
    optimizer = torch.optim.Adam(groups, lr=args.lr, betas=(0.0, 0.99))
    gen = torch.Generator().manual_seed(1)
    start, metrics = time.perf_counter(), {}
    for step in range(1, args.steps + 1):
        batch = data[torch.randint(0, len(data), (16,), generator=gen)]
        for phase in ("d", "g"):
            loss, found = model.training_loss(batch, gen, phase=phase, step=step - 1)
            metrics.update(found)
            loss.backward()
            for g in optimizer.param_groups:  # the other network's gradients from this phase are dropped
                if g["phase"] != phase:
                    for p in g["params"]:
                        p.grad = None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if step % args.every == 0:
            images = samples(model)
            row = {"step": step, "spread": round(spread(images), 3), "seconds": round(time.perf_counter() - start)}
            row.update({k: round(v, 3) for k, v in metrics.items() if k != "loss"})
            print(json.dumps(row), flush=True)
            if args.grids:
                save_grid(images, Path(args.grids) / f"{args.generator}_{step:06d}.png")


def fit(args) -> None:
    targets = digits(16)
    print(json.dumps({"mean_digit_mse": round(float((targets - targets.mean(0)).square().mean()), 4)}))
    for name in ("stylegan", "dcgan"):
        torch.manual_seed(0)
        if name == "stylegan":
            model = StyleGAN(StyleGANConfig(**STYLEGAN_SMALL))
            params = [*model.mapping.parameters(), *model.synthesis.parameters()]
            z = torch.randn(16, STYLEGAN_SMALL["z_dim"])

            def generate(model=model, z=z):
                return model.synthesis(model.mapping(z, None)[:, None].expand(-1, model.num_ws, -1))

            optimizer = torch.optim.Adam(params, lr=2e-3, betas=(0.0, 0.99))  # the preset's
        else:
            generator = DCGAN(DCGANConfig(**DCGAN_SMALL)).generator
            z = torch.randn(16, DCGAN_SMALL["z_dim"])

            def generate(generator=generator, z=z):
                return generator(z)

            optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))  # the preset's
        errors = {}
        for step in range(1, 401):
            loss = (generate() - targets).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step in (25, 50, 100, 200, 400):
                errors[step] = round(loss.item(), 4)
        print(json.dumps({"generator": name, "mse_at_step": errors}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("train")
    run.add_argument("--generator", choices=("stylegan", "dcgan"), default="stylegan")
    run.add_argument("--steps", type=int, default=2000)
    run.add_argument("--every", type=int, default=500)
    run.add_argument("--lr", type=float, default=2e-3)
    run.add_argument("--d-lr", type=float, default=0.0, help="the discriminator's learning rate (default: --lr)")
    run.add_argument("--grids", default="", help="folder for the 8×8 sample grids")
    sub.add_parser("fit")
    args = parser.parse_args()
    if not MNIST.is_file():
        print(f"needs {MNIST}", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    (train if args.command == "train" else fit)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
