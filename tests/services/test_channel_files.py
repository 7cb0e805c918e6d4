"""ChannelFiles: each package's list read once, shared by threads, kept right after writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from admin_requests.errors import TransientError
from admin_requests.services.anaconda import AnacondaClient, Distribution
from admin_requests.services.channel_files import ChannelFiles
from tests.fakes import FakeAnaconda
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for, settings_for

A = "linux-64/foo-1.0-h0_0.conda"
B = "noarch/foo-1.1-pyh0_3.tar.bz2"


def _dist(basename: str, labels: frozenset[str] = frozenset({"main"})) -> Distribution:
    return Distribution("conda-forge", "foo", basename.split("-")[1], basename, "", labels)


class Reader:
    """A package_files stand-in that counts reads and can hold them until released."""

    def __init__(self, files: dict[str, list[Distribution] | None]) -> None:
        self.files = files
        self.reads: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        self.failures = 0

    def package_files(self, owner: str, package: str) -> list[Distribution] | None:
        with self.lock:
            self.reads.append(package)
            failing = self.failures > 0
            self.failures -= failing
        self.release.wait(5)
        if failing:
            raise TransientError("503")
        return self.files[package]


def test_threads_asking_for_one_package_share_one_read() -> None:
    reader = Reader({"foo": [_dist(A), _dist(B)]})
    reader.release.clear()
    files = ChannelFiles()
    with ThreadPoolExecutor(8) as pool:
        found = [pool.submit(files.file, reader, "conda-forge", "foo", b) for b in [A, B] * 4]
        reader.release.set()
        assert [f.result() for f in found] == [_dist(A), _dist(B)] * 4
    assert reader.reads == ["foo"]
    assert files.reads == 1


def test_a_slow_package_does_not_hold_up_another() -> None:
    reader = Reader({"foo": [_dist(A)], "bar": None})
    files = ChannelFiles()
    reader.release.clear()
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(files.file, reader, "conda-forge", "foo", A)
        while reader.reads != ["foo"]:
            threading.Event().wait(0.001)
        # bar's read starts while foo's is still in flight.
        reader.release.set()
        assert files.has_package(reader, "conda-forge", "bar") is False
        assert slow.result() == _dist(A)


def test_missing_and_no_package() -> None:
    reader = Reader({"foo": [_dist(A)], "bar": None})
    files = ChannelFiles()
    assert files.missing(reader, "conda-forge", "foo", [A, B]) == [B]
    assert files.missing(reader, "conda-forge", "bar", [A]) is None
    assert files.file(reader, "conda-forge", "foo", B) is None
    assert reader.reads == ["foo", "bar"]


def test_a_write_is_recorded_and_a_forgotten_package_read_again() -> None:
    reader = Reader({"foo": [_dist(A)]})
    files = ChannelFiles()
    found = files.file(reader, "conda-forge", "foo", A)
    assert found is not None
    files.labelled(found.labelled(found.labels | {"broken"}))
    again = files.file(reader, "conda-forge", "foo", A)
    assert again is not None
    assert again.labels == {"main", "broken"}
    assert reader.reads == ["foo"]
    files.forget("conda-forge", "foo")
    after = files.file(reader, "conda-forge", "foo", A)
    assert after is not None
    assert after.labels == {"main"}
    assert reader.reads == ["foo", "foo"]


def test_a_read_that_fails_is_tried_again_by_the_next_item() -> None:
    reader = Reader({"foo": [_dist(A)]})
    reader.failures = 1
    files = ChannelFiles()
    with pytest.raises(TransientError):
        files.file(reader, "conda-forge", "foo", A)
    assert files.file(reader, "conda-forge", "foo", A) == _dist(A)
    assert reader.reads == ["foo", "foo"]


def test_package_files_are_distributions_with_labels_and_upload_time(
    fake_anaconda: FakeAnaconda,
) -> None:
    ac = fake_anaconda
    ac.add_file(
        "conda-forge", A, labels=["main", "broken"], uploaded=datetime(2026, 5, 1, tzinfo=UTC)
    )
    ac.add_file("conda-forge", B)
    ac.add_file("conda-forge", "linux-64/other-1.0-h0_0.conda")
    client = AnacondaClient(settings_for(None, ac), None, retrier=retrier_for(FakeClock()))
    listed = client.package_files("conda-forge", "foo")
    assert listed is not None
    by_name = {d.basename: d for d in listed}
    assert set(by_name) == {A, B}
    assert by_name[A] == Distribution(
        "conda-forge",
        "foo",
        "1.0",
        A,
        ac.file("conda-forge", A).sha256,
        frozenset({"main", "broken"}),
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert by_name[B].subdir == "noarch"
    assert client.package_files("conda-forge", "nosuch") is None
    # The same record as /dist has.
    one = client.distribution("conda-forge", "foo", "1.0", A)
    assert one == by_name[A]
