"""OCI mirror freshness (status/oci_mirror.py): naming, the verdict, and a real registry.

The registry tests run Debian's docker-registry on 127.0.0.1 (tests/status/oci_registry.py),
filled with oras-py, and read it the way ghcr.io is read: anonymous bearer tokens from the
realm of its 401 challenge. anaconda.org is FakeAnaconda, through anaconda-client.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dev
import jsonschema
import pytest
import requests
from conda_oci_mirror.package import version_build_tag as mirror_version_build_tag

from admin_requests.errors import PermanentError, StatusConfigError
from admin_requests.queue.gitops import Git
from admin_requests.services.anaconda import AnacondaClient, Distribution
from admin_requests.services.http import Retrier, RetryPolicy
from admin_requests.status import StatusCollector, StatusOptions, StatusReport, write_site
from admin_requests.status.config import DEFAULT_CONFIG, parse_config
from admin_requests.status.oci_mirror import (
    OciMirrorCollector,
    OciMirrorSource,
    RegistryClient,
    Sentinel,
    freshness,
    next_page,
    parse_challenge,
    repository_name,
    tag_of,
    version_build_tag,
)
from admin_requests.status.schema import status_schema
from tests.fakes import FakeAnaconda
from tests.fakes.wiring import settings_for
from tests.status.browser import Browser, find_chromium
from tests.status.oci_registry import LocalRegistry, local_registry
from tests.status.organisation_data import CONFIG
from tests.status.scenario import REPOSITORY, Scenario
from tests.status.test_browser import (
    ARTIFACTS,
    AXE,
    AXE_RUN,
    DESKTOP,
    MEASURE,
    PHONE,
)

pytestmark = pytest.mark.xdist_group("status_oci_registry")

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NAMESPACE = "channel-mirrors"
NO_WAIT = Retrier(RetryPolicy(max_attempts=2), sleep=lambda _s: None)


# -- naming: conda-oci-mirror's own rules ---------------------------------------------------


@pytest.mark.parametrize("tag", ["1.0-h0_0", "3.12.1-hab00c5b_1_cpython", "1!2.0+local=x-py_0"])
def test_tags_are_conda_oci_mirrors_own(tag: str) -> None:
    # conda_oci_mirror.package.version_build_tag, from the installed conda-oci-mirror.
    assert version_build_tag(tag) == mirror_version_build_tag(tag)


def test_repository_and_tag_of_an_artifact() -> None:
    assert tag_of("linux-64/python-3.12.1-hab00c5b_1_cpython.conda") == "3.12.1-hab00c5b_1_cpython"
    assert tag_of("noarch/foo-bar-1.0+a-py_0.tar.bz2") == "1.0__p__a-py_0"
    # Package.upload: a name starting with "_" gets "zzz" before it.
    assert (
        repository_name(NAMESPACE, "conda-forge", "linux-64", "_openmp_mutex")
        == "channel-mirrors/conda-forge/linux-64/zzz_openmp_mutex"
    )
    with pytest.raises(ValueError, match=r"not a \.conda or \.tar\.bz2"):
        tag_of("linux-64/foo-1.0-0.zip")


# -- the verdict (pure) ----------------------------------------------------------------------


def _file(basename: str, hours_ago: float, labels: tuple[str, ...] = ("main",)) -> Distribution:
    return Distribution(
        "conda-forge",
        "foo",
        basename.split("-")[-2],
        basename,
        "",
        frozenset(labels),
        NOW - timedelta(hours=hours_ago),
    )


FILES = [
    _file("linux-64/foo-1.0-h0_0.conda", 100),
    _file("linux-64/foo-1.1-h0_0.conda", 50),
    _file("linux-64/foo-1.2-h0_0.conda", 30),
    _file("linux-64/foo-1.3-h0_0.conda", 2, labels=("broken",)),  # not on the channel
    _file("osx-64/foo-1.1-h0_0.conda", 40),
]


def _verdict(tags: list[str] | None, sentinel: Sentinel | None = None) -> Any:
    return freshness(
        sentinel or Sentinel("foo"),
        FILES,
        tags,
        repository_of=lambda subdir: f"m/conda-forge/{subdir}/foo",
        now=NOW,
        grace=timedelta(hours=12),
    )


def test_a_mirror_with_the_newest_artifact_is_mirrored() -> None:
    found = _verdict(["1.0-h0_0", "1.1-h0_0", "1.2-h0_0"])
    assert (found.state, found.subdir, found.missing) == ("mirrored", "linux-64", 0)
    assert found.channel_newest == found.mirror_newest == "linux-64/foo-1.2-h0_0.conda"
    assert found.lagging_since is None


def test_a_mirror_missing_artifacts_lags_since_the_oldest_it_misses() -> None:
    found = _verdict(["1.0-h0_0"])
    assert (found.state, found.missing) == ("lagging", 2)
    assert found.mirror_newest == "linux-64/foo-1.0-h0_0.conda"
    assert found.lagging_since == NOW - timedelta(hours=50)
    assert found.lag(NOW) == timedelta(hours=50)


def test_missing_artifacts_younger_than_the_grace_are_pending() -> None:
    files = [*FILES, _file("linux-64/foo-1.4-h0_0.conda", 3)]
    found = freshness(
        Sentinel("foo"),
        files,
        ["1.2-h0_0"],
        repository_of=lambda s: s,
        now=NOW,
        grace=timedelta(hours=12),
    )
    assert (found.state, found.missing, found.lagging_since) == (
        "pending",
        1,
        NOW - timedelta(hours=3),
    )


def test_a_package_the_mirror_never_had_lags_since_its_oldest_artifact() -> None:
    found = _verdict(None)
    assert (found.state, found.missing, found.mirror_newest) == ("lagging", 3, None)
    assert found.lagging_since == NOW - timedelta(hours=100)


def test_a_configured_subdir_is_the_one_compared() -> None:
    found = _verdict(["1.1-h0_0"], Sentinel("foo", "osx-64"))
    assert (found.state, found.repository) == ("mirrored", "m/conda-forge/osx-64/foo")
    missing = _verdict([], Sentinel("foo", "win-64"))
    assert missing.state == "unknown"
    assert "no file of 'foo' in win-64" in (missing.error or "")


# -- the distribution API's headers ----------------------------------------------------------


def test_the_bearer_challenge_and_the_next_page_link() -> None:
    # The distribution token specification's example challenge.
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"'
    )
    assert parse_challenge(header) == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:samalba/my-app:pull,push",
    }
    assert parse_challenge('Basic realm="x"') is None
    link = {"Link": '</v2/a/b/tags/list?last=x&n=2>; rel="next"'}
    assert next_page(link, "http://r:5000/v2/a/b/tags/list?n=2") == (
        "http://r:5000/v2/a/b/tags/list?last=x&n=2"
    )
    assert next_page({}, "http://r/v2/a/tags/list") is None


# -- configuration -------------------------------------------------------------------------


def test_the_default_watches_conda_forges_mirror_on_ghcr() -> None:
    source = DEFAULT_CONFIG.oci_mirror
    assert source is not None
    assert (source.base_url, source.namespace, source.display) == (
        "https://ghcr.io",
        "channel-mirrors",
        "ghcr.io/channel-mirrors",
    )
    assert "_openmp_mutex" in {p.name for p in source.packages}
    config = parse_config(
        "oci_mirror:\n  registry: http://127.0.0.1:5000/mirrors\n  channel: bioconda\n"
        "  packages: [samtools, {name: _r-mutex, subdir: noarch}]\n  grace: 1d\n"
    )
    assert config.oci_mirror == OciMirrorSource(
        "http://127.0.0.1:5000/mirrors",
        "bioconda",
        (Sentinel("samtools"), Sentinel("_r-mutex", "noarch")),
        timedelta(days=1),
    )
    assert parse_config("oci_mirror: null\n").oci_mirror is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oci_mirror:\n  registry: ghcr.io/channel-mirrors\n",
         "line 2: 'oci_mirror.registry' 'ghcr.io/channel-mirrors' is not a URL"),
        ("oci_mirror:\n  packages:\n    - python\n    - {name: x, subdir: win-32}\n",
         "line 4: 'oci_mirror.packages': subdir 'win-32' of 'x' is not one the mirror copies"),
        ("oci_mirror:\n  packages:\n    - Not A Name\n",
         "line 3: 'oci_mirror.packages': 'Not A Name' is not a package name"),
        ("oci_mirror:\n  grace: soon\n", "line 2: 'oci_mirror.grace': cadence 'soon'"),
        ("oci_mirror:\n  registy: x\n", "line 2: 'oci_mirror' takes"),
        ("oci_mirror:\n  packages: []\n", "line 2: 'oci_mirror.packages' must be a list"),
    ],
)  # fmt: skip
def test_configuration_errors_name_the_line_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(StatusConfigError) as error:
        parse_config(text)
    assert f".github/status-page.yml, {message}" in str(error.value)


# -- against a real registry ------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with local_registry(tmp_path_factory.mktemp("oci")) as found:
        yield found


MIRRORED = "http://127.0.0.1:{port}/" + NAMESPACE


def _seed(anaconda: FakeAnaconda, registry: LocalRegistry, prefix: str) -> OciMirrorSource:
    """The channel and the mirror in four states, under ``prefix`` (a namespace of its own
    per test, as the registry is shared)."""
    namespace = f"{NAMESPACE}-{prefix}"

    def channel(basename: str, hours_ago: float) -> None:
        anaconda.add_file("conda-forge", basename, uploaded=NOW - timedelta(hours=hours_ago))

    def mirror(basename: str) -> None:
        subdir, _, filename = basename.partition("/")
        name = filename.rsplit("-", 2)[0]
        repository = repository_name(namespace, "conda-forge", subdir, name)
        registry.push(repository, tag_of(basename), filename)

    # numpy: the mirror has the newest.
    for basename, age in (
        ("linux-64/numpy-2.1.0-py312h0_0.conda", 90),
        ("linux-64/numpy-2.1.1-py312h0_0.conda", 20),
    ):
        channel(basename, age)
        mirror(basename)
    # python: two newer builds never reached the mirror, the older 40 hours ago.
    channel("linux-64/python-3.12.0-h0_0_cpython.conda", 400)
    mirror("linux-64/python-3.12.0-h0_0_cpython.conda")
    channel("linux-64/python-3.12.1-h0_0_cpython.conda", 40)
    channel("linux-64/python-3.13.0-h0_0_cp313.conda", 5)
    # _openmp_mutex: the zzz repository, a tag with "+" (written __p__); mirrored.
    channel("linux-64/_openmp_mutex-4.5-2_gnu+x.tar.bz2", 300)
    mirror("linux-64/_openmp_mutex-4.5-2_gnu+x.tar.bz2")
    # conda (noarch here): its newest is an hour old, within the grace.
    channel("noarch/conda-24.9.0-pyhd8ed1ab_0.conda", 100)
    mirror("noarch/conda-24.9.0-pyhd8ed1ab_0.conda")
    channel("noarch/conda-24.11.0-pyhd8ed1ab_0.conda", 1)
    return OciMirrorSource(
        f"{registry.url}/{namespace}",
        "conda-forge",
        (Sentinel("numpy"), Sentinel("python"), Sentinel("_openmp_mutex"), Sentinel("conda")),
        timedelta(hours=12),
    )


def _collector(anaconda: FakeAnaconda, source: OciMirrorSource) -> OciMirrorCollector:
    channel = AnacondaClient(settings_for(None, anaconda), None, retrier=NO_WAIT)
    registry = RegistryClient(source.base_url, timeout=10, retrier=NO_WAIT.sibling())
    return OciMirrorCollector(source, channel=channel, registry=registry)


def test_freshness_read_from_a_real_registry_with_anonymous_tokens(
    registry: LocalRegistry,
) -> None:
    with FakeAnaconda() as anaconda:
        source = _seed(anaconda, registry, "fresh")
        collector = _collector(anaconda, source)
        issued_before = len(registry.tokens.issued)
        status, sources = collector.collect(NOW, None)
    by_name = {p.name: p for p in status.packages}
    assert {name: p.state for name, p in by_name.items()} == {
        "numpy": "mirrored",
        "python": "lagging",
        "_openmp_mutex": "mirrored",
        "conda": "pending",
    }
    python = by_name["python"]
    assert python.repository == "channel-mirrors-fresh/conda-forge/linux-64/python"
    assert python.channel_newest == "linux-64/python-3.13.0-h0_0_cp313.conda"
    assert python.mirror_newest == "linux-64/python-3.12.0-h0_0_cpython.conda"
    assert (python.missing, python.lagging_since) == (2, NOW - timedelta(hours=40))
    mutex = by_name["_openmp_mutex"]
    assert mutex.repository == "channel-mirrors-fresh/conda-forge/linux-64/zzz_openmp_mutex"
    assert by_name["conda"].subdir == "noarch"
    assert all(s.ok for s in sources)
    assert [s.name for s in sources] == [
        "anaconda.org (conda-forge)",
        f"OCI mirror (127.0.0.1:{source.base_url.rsplit(':', 1)[1]}/channel-mirrors-fresh)",
    ]
    # One pull token per repository, for exactly its scope: the dance ghcr.io asks for.
    scopes = registry.tokens.issued[issued_before:]
    assert scopes == [[f"repository:{p.repository}:pull"] for p in status.packages]
    # Calls: 1 on anaconda.org per package; on the registry 2 per package (its token,
    # its tags) plus the first challenge.
    assert collector.registry.calls == 2 * len(status.packages) + 1
    assert status.calls == 3 * len(status.packages) + 1
    print(
        f"\nOCI mirror freshness: {status.calls} calls for {len(status.packages)} packages "
        f"({status.calls / len(status.packages):.2f} per package: 1 anaconda.org, 2 registry, "
        "+1 for the first challenge)"
    )


def test_every_tag_and_an_unknown_repository(registry: LocalRegistry) -> None:
    repository = "paged/conda-forge/noarch/many"
    tags = [f"1.{n}-py_0" for n in range(5)]
    for tag in tags:
        registry.push(repository, tag, "many.conda")
    client = RegistryClient(registry.url, retrier=NO_WAIT, page_size=2)
    assert sorted(client.tags(repository) or []) == sorted(tags)
    # distribution 2.8.2 (Debian's) answers every tag at once whatever ?n= says: tag
    # pagination came in distribution v3 (its commit 4da2712b5); the Link loop is
    # checked below without a registry.
    assert client.calls == 1 + 1 + 1  # the challenge, the token, the tags
    assert client.tags("paged/conda-forge/noarch/none") is None  # NAME_UNKNOWN: 404
    assert client.calls == 3 + 2  # a token for its scope, the 404


class _Pages(requests.adapters.BaseAdapter):
    """Canned tags/list pages with Link headers: only the client's paging loop is under
    test here (the registry tests above use a real registry)."""

    def __init__(self, pages: dict[str, tuple[list[str], str | None]]) -> None:
        super().__init__()
        self.pages = pages
        self.asked: list[str] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        self.asked.append(request.path_url)
        tags, link = self.pages[request.path_url]
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps({"name": "r", "tags": tags}).encode()
        if link:
            response.headers["Link"] = f'<{link}>; rel="next"'
        response.url = request.url or ""
        return response

    def close(self) -> None:
        return


def test_the_client_follows_link_pages_to_the_end() -> None:
    pages = _Pages(
        {
            "/v2/r/tags/list": (["a", "b"], "/v2/r/tags/list?last=b&n=2"),
            "/v2/r/tags/list?last=b&n=2": (["c", "d"], "/v2/r/tags/list?last=d&n=2"),
            "/v2/r/tags/list?last=d&n=2": (["e"], None),
        }
    )
    session = requests.Session()
    session.mount("http://", pages)
    client = RegistryClient("http://registry.test", retrier=NO_WAIT, session=session)
    assert client.tags("r") == ["a", "b", "c", "d", "e"]
    assert len(pages.asked) == 3
    looping = _Pages({"/v2/r/tags/list": (["a"], "/v2/r/tags/list")})
    session.mount("http://", looping)
    with pytest.raises(PermanentError, match="Link header loops"):
        client.tags("r")
    elsewhere = _Pages({"/v2/r/tags/list": (["a"], "http://elsewhere.test/v2/r/tags/list")})
    session.mount("http://", elsewhere)
    with pytest.raises(PermanentError, match="on another host"):
        client.tags("r")
    assert elsewhere.asked == ["/v2/r/tags/list"]


def test_a_registry_that_is_down_keeps_the_last_known_freshness(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    with FakeAnaconda() as anaconda:
        source = _seed(anaconda, registry, "down")
        first, first_sources = _collector(anaconda, source).collect(NOW, None)
        previous = {
            "generated_at": "2026-11-20T12:00:00Z",
            "oci_mirror": first.to_dict(),
            "sources": [s.to_dict() for s in first_sources],
        }
        later = NOW + timedelta(minutes=15)
        registry.reader.stop()
        try:
            status, sources = _collector(anaconda, source).collect(later, previous)
        finally:
            registry.reader.start()
    broken = [s for s in sources if not s.ok]
    assert [s.name for s in broken] == [f"OCI mirror ({source.display})"]
    assert broken[0].failing_since == later
    assert broken[0].last_ok == NOW
    assert "connection failed" in (broken[0].error or "")
    # Every package as the previous build saw it, marked with when that was.
    assert [(p.name, p.state) for p in status.packages] == [
        (p.name, p.state) for p in first.packages
    ]
    assert all(p.as_of == NOW and p.error for p in status.packages)
    # After the first failure the registry is not asked again in this build.
    assert "not asked again in this build" in (status.packages[-1].error or "")
    assert (broken[0].error or "").endswith("3 more package(s) not asked again in this build")


@pytest.fixture(scope="module")
def mirror_report(registry: LocalRegistry, scenario: Scenario) -> StatusReport:
    """The whole page (the status scenario and its organisation) with the mirror read
    from the real registry."""
    with FakeAnaconda() as anaconda:
        source = _seed(anaconda, registry, "page")
        return StatusCollector(
            scenario.root,
            git=Git(scenario.root),
            github=scenario.client(),
            clock=lambda: NOW,
            options=StatusOptions(repository=REPOSITORY, dashboard=CONFIG),
            oci_mirror=_collector(anaconda, source),
        ).collect()


def test_the_page_shows_the_mirror_and_status_json_matches_the_schema(
    mirror_report: StatusReport, tmp_path: Path
) -> None:
    write_site(mirror_report, tmp_path)
    data = json.loads((tmp_path / "status.json").read_text())
    schema = status_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(data)
    mirror = data["oci_mirror"]
    assert mirror["counts"] == {"mirrored": 2, "pending": 1, "lagging": 1, "unknown": 0}
    python = next(p for p in mirror["packages"] if p["name"] == "python")
    assert (python["lagging_since"], python["lag_seconds"]) == ("2026-11-18T20:00:00Z", 40 * 3600)
    assert "OCI mirror lagging: python" in data["summary"]["attention"]
    html = (tmp_path / "index.html").read_text()
    assert '<section id="oci-mirror"' in html
    row = html.split('data-mirror-package="python"')[1].split("</tr>")[0]
    assert "Lagging" in row
    assert "2 artifacts" in row
    assert "python-3.13.0-h0_0_cp313.conda" in row
    bad = {**mirror, "packages": [{**mirror["packages"][0], "state": "stale"}]}
    with pytest.raises(jsonschema.ValidationError):
        cls(schema).validate({**data, "oci_mirror": bad})


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """As test_browser.py's: skipped without chromium, except under CI."""
    executable = find_chromium()
    if executable is None:
        reason = "chromium is not installed ('python3 dev.py test' installs it when it may)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; under CI the browser tests must run")
        pytest.skip(reason)
    browser = Browser(executable)
    try:
        yield browser
    finally:
        browser.close()


@pytest.mark.parametrize(
    ("viewport", "dark"),
    [(PHONE, False), (PHONE, True), (DESKTOP, False), (DESKTOP, True)],
    ids=["phone-light", "phone-dark", "desktop-light", "desktop-dark"],
)
def test_the_mirror_section_passes_axe_and_fits_a_phone(
    chromium: Browser,
    mirror_report: StatusReport,
    tmp_path: Path,
    viewport: dict[str, Any],
    dark: bool,
) -> None:
    write_site(mirror_report, tmp_path)
    name = f"oci-mirror-{viewport['width']}{'-dark' if dark else ''}.png"
    with chromium.page((tmp_path / "index.html").as_uri(), **viewport, dark=dark) as page:
        page.screenshot(ARTIFACTS / name, full_page=True)
        measured = page.evaluate(f"({MEASURE})({viewport['width']})")
        page.evaluate(AXE.read_text(encoding="utf-8") + ";0")
        result = page.evaluate(AXE_RUN)
        section = page.evaluate("document.querySelector('#oci-mirror').innerText")
    assert "Lagging" in section
    assert "Pending" in section
    assert result["rules"] > 20
    assert result["violations"] == []
    assert measured["lowContrast"] == []
    assert measured["wide"] == []
    assert measured["scrollWidth"] == measured["innerWidth"] == viewport["width"]


# -- dev.py installs the registry like chromium ------------------------------------------------


def test_dev_installs_docker_registry_with_apt_when_root(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(dev, "_docker_registry_installed", lambda: False)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        dev.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None
    )
    monkeypatch.setattr(dev.subprocess, "run", lambda argv, **_: ran.append(list(argv)) or _Done())
    dev.ensure_docker_registry()
    assert ran[-1][-1] == "docker-registry"
    assert ran[-1][:1] == ["apt-get"]
    assert "install" in ran[-1]


class _Done:
    returncode = 0
