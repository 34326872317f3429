"""Train requests become trainer command lines; the dataset check matches what the trainer loads."""

from __future__ import annotations

import pytest

from genstudio.core.errors import DatasetError
from genstudio.core.registry import get
from genstudio.tasks.train import TrainRequest, scan_dataset
from tests.util import make_image_folder


def test_a_new_run_and_a_resume_become_trainer_arguments():
    new = TrainRequest("ddpm", "cats", data="/pics", preset="tiny", steps=50, preview_every=10,
                       from_model="starter-emoji", overwrite=True, threads=2)
    assert new.args() == ["ddpm", "--name", "cats", "--device", "auto", "--threads", "2", "--steps", "50",
                          "--preview-every", "10", "--data", "/pics", "--preset", "tiny",
                          "--from", "starter-emoji", "--overwrite"]
    resume = TrainRequest("ddpm", "cats", resume=True, device="cpu")
    assert resume.args() == ["ddpm", "--name", "cats", "--device", "cpu", "--resume"]


def test_a_new_run_without_a_folder_is_refused():
    with pytest.raises(DatasetError, match="Choose a folder"):
        TrainRequest("ddpm", "cats").args()


def test_scan_reports_usable_and_skipped_files_at_the_training_size(tmp_path):
    folder = make_image_folder(tmp_path / "data", n=5, size=50)
    (folder / "bad.jpg").write_bytes(b"not a jpeg")
    scan = scan_dataset(get("ddpm"), "tiny", folder)
    assert len(scan.report.used) == 5 and [s.path.endswith("bad.jpg") for s in scan.report.skipped] == [True]
    assert scan.report.image_size == 32 and scan.thumbnails.shape == (5, 32, 32, 3)


def test_scan_of_an_empty_folder_says_so(tmp_path):
    with pytest.raises(DatasetError, match="no image files"):
        scan_dataset(get("ddpm"), "tiny", tmp_path)


def test_a_two_domain_run_passes_both_folders_and_its_resume_needs_none():
    new = TrainRequest("cyclegan", "horse2zebra", data="/horses", data_b="/zebras", two_domains=True, preset="tiny")
    assert new.args() == ["cyclegan", "--name", "horse2zebra", "--device", "auto", "--data-a", "/horses",
                          "--data-b", "/zebras", "--preset", "tiny"]
    resume = TrainRequest("cyclegan", "horse2zebra", two_domains=True, resume=True)
    assert resume.args() == ["cyclegan", "--name", "horse2zebra", "--device", "auto", "--resume"]


@pytest.mark.parametrize(("a", "b", "missing"), [("/horses", None, "domain B folder first"),
                                                  (None, "/zebras", "domain A folder first"),
                                                  (None, None, "domain A and B folders first")])
def test_a_two_domain_run_without_both_folders_says_which_is_missing(a, b, missing):
    with pytest.raises(DatasetError, match=missing):
        TrainRequest("cyclegan", "h2z", data=a, data_b=b, two_domains=True).args()


def test_a_text_run_passes_its_tokenizer_unless_it_fine_tunes():
    new = TrainRequest("gpt", "poems", data="/texts", preset="tiny", tokenizer="bpe", modality="text")
    assert new.args() == ["gpt", "--name", "poems", "--device", "auto", "--data", "/texts", "--preset", "tiny",
                          "--tokenizer", "bpe"]
    tuned = TrainRequest("gpt", "poems2", data="/texts", tokenizer="bpe", from_model="poems", modality="text")
    assert "--tokenizer" not in tuned.args() and tuned.args()[-2:] == ["--from", "poems"]
    with pytest.raises(DatasetError, match=r"Choose a folder of texts \(\.txt, \.md\) first"):
        TrainRequest("gpt", "poems", modality="text").args()


def test_a_text_architecture_scans_texts_and_splits_them_like_the_trainer(tmp_path):
    from genstudio.core.data.text import split_train_val
    from genstudio.tasks.train import TextScan
    from tests.trainers.test_text import make_text_folder

    folder = make_text_folder(tmp_path / "texts", files=2)
    (folder / "binary.txt").write_bytes(b"\x00\x01")
    scan = scan_dataset(get("gpt"), "tiny", folder)
    assert isinstance(scan, TextScan) and len(scan.report.files) == 2 and len(scan.report.skipped) == 1
    train, val = split_train_val([p.read_text(encoding="utf-8") for p in sorted(folder.glob("chapter_*.txt"))])
    assert (scan.train_chars, scan.val_chars) == (len(train), len(val))
    assert scan.report.notes[-1].startswith(f"Training / validation: {len(train):,} / {len(val):,} characters")
    with pytest.raises(DatasetError, match="has no text files"):
        scan_dataset(get("gpt"), "tiny", make_image_folder(tmp_path / "pics", n=1))
