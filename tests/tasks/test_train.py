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
