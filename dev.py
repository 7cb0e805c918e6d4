#!/usr/bin/env python3
"""The project's two entry points, usable on a fresh machine with only Python 3.11+ and git.

    python3 dev.py demo     # the main job: process.yml under act against a local sandbox
    python3 dev.py sandbox  # only the sandbox (fake GitHub/anaconda.org/OIDC, OpenBao)
    python3 dev.py test     # the whole test suite: ruff, mypy, zizmor, pytest
    python3 dev.py setup    # only create/refresh .venv (used by actions/setup in CI)
    python3 dev.py setup --runtime  # .venv with only the runtime lock, hash-checked
                            # (requirements/runtime.txt; every job that holds a credential)
    python3 dev.py bench    # the benchmarks, as JSON on stdout (docs/performance.md)
    python3 dev.py generate # docs/examples/ and .github/PULL_REQUEST_TEMPLATE/ from
                            # the kind folders (scripts/admin_requests/kinds/<kind>/)

Each creates `.venv/` with the pinned dependencies from `requirements/lock.txt` on
first use (and again whenever the lock file or pyproject.toml changes). `test` also
installs Debian's chromium for the status page's browser tests and Debian's
docker-registry for its OCI mirror tests when they are missing and this machine allows
it (apt-get, as root or with passwordless sudo). Standard library
only: this file runs before anything is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements" / "lock.txt"
# Only the package's runtime dependencies, with hashes: what a job holding credentials runs.
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
STAMP = VENV / ".admin-requests-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
LINTED = ("scripts", "tests", "sandbox", "benchmarks", "docs/hooks", "dev.py")
ZIZMOR = [str(BIN / "zizmor"), "--offline", "--strict-collection"]
ZIZMOR_PERSONAS = ("pedantic", "auditor")
# The status page's browser tests open it in Debian's chromium (tests/status/browser.py).
CHROMIUM_PACKAGE = "chromium"
# The OCI mirror tests run a real registry: Debian's docker-registry (tests/status/oci_registry.py).
REGISTRY_PACKAGE = "docker-registry"


def _environment_fingerprint(lock: Path = LOCK) -> str:
    digest = hashlib.sha256()
    digest.update(lock.name.encode())  # a runtime .venv is never taken for a development one
    for path in (lock, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    digest.update(str(ROOT).encode())  # the editable install points here
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create or refresh .venv so it holds exactly the pinned dependencies."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this file runs on any python3)
        sys.exit(f"admin-requests needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if VENV.is_symlink():
        # A borrowed environment (another checkout's, as tests/docs runs the pages'
        # commands in a copy): installing here would repoint that checkout's editable
        # package at this copy.
        return
    fingerprint = _environment_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    if not (BIN / "python").exists():
        print("[dev] creating .venv", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    print(
        "[dev] installing pinned dependencies from requirements/lock.txt",
        file=sys.stderr,
        flush=True,
    )
    # --no-compile: byte-compiling every installed module costs about 20 s of CPU (a
    # quarter of the install); Python compiles what it imports on first use instead.
    subprocess.run([*pip, "install", "--no-compile", "-r", str(LOCK)], check=True)
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True
    )
    STAMP.write_text(fingerprint)


def ensure_runtime_environment() -> None:
    """Create .venv afresh with only the runtime lock, every file checked against its hash.

    For jobs that hold credentials (actions/setup with ``lock: runtime``): nothing from
    the development lock (test servers, docs, fuzzers) runs there, and no file pip fetches
    can differ from the one locked. ``--no-deps`` on both installs: the lock is complete
    (tests/test_runtime_lock.py), so pip resolves nothing; the package itself is built
    with the locked setuptools, without build isolation (which would fetch an unpinned one).
    """
    if sys.version_info < (3, 11):  # noqa: UP036 (this file runs on any python3)
        sys.exit(f"admin-requests needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if VENV.is_symlink():
        return  # a borrowed environment (see ensure_environment)
    fingerprint = _environment_fingerprint(RUNTIME_LOCK)
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("[dev] creating .venv with the runtime lock only", file=sys.stderr, flush=True)
    # clear=True: packages a development install left behind must not stay importable.
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    install = [*pip, "install", "--no-compile", "--no-deps"]
    subprocess.run([*install, "--require-hashes", "-r", str(RUNTIME_LOCK)], check=True)
    subprocess.run([*install, "--no-build-isolation", str(ROOT)], check=True)
    STAMP.write_text(fingerprint)


def _chromium_installed() -> bool:
    return shutil.which("chromium") is not None or Path("/usr/bin/chromium").exists()


def _as_root_prefix() -> list[str] | None:
    """How to run apt-get as root: directly, through passwordless sudo, or not at all."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return []
    if shutil.which("sudo") is None:
        return None
    probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
    return ["sudo", "-n"] if probe.returncode == 0 else None


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests when it is missing and we can.

    Needs apt-get and root (or passwordless sudo). When it cannot be installed the
    browser tests skip with the reason, except under CI (CI set), where they fail.
    """
    if _chromium_installed():
        return
    _apt_install(CHROMIUM_PACKAGE, "the browser tests")


def _docker_registry_installed() -> bool:
    return (
        shutil.which(REGISTRY_PACKAGE) is not None or Path(f"/usr/bin/{REGISTRY_PACKAGE}").exists()
    )


def ensure_docker_registry() -> None:
    """Install Debian's docker-registry (the CNCF distribution registry) for the OCI
    mirror tests (tests/status/oci_registry.py) the same way as chromium: when it is
    missing and apt-get may run as root; else those tests skip, and fail under CI."""
    if _docker_registry_installed():
        return
    _apt_install(REGISTRY_PACKAGE, "the OCI mirror tests")


def _apt_install(package: str, tests: str) -> None:
    prefix = _as_root_prefix() if shutil.which("apt-get") else None
    if prefix is None:
        why = "not root, no passwordless sudo" if shutil.which("apt-get") else "no apt-get"
        print(
            f"[dev] {package} is missing and cannot be installed here ({why}): {tests} "
            "will be skipped (and fail under CI)",
            flush=True,
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"] if prefix else ["apt-get"]
    # Wait for another apt (a parallel job) instead of failing on its lock.
    lock_wait = ["-o", "DPkg::Lock::Timeout=600"]
    for argv in (
        [*apt, *lock_wait, "update"],
        [*apt, *lock_wait, "install", "-y", "--no-install-recommends", package],
    ):
        print(f"[dev] installing {package} for {tests}: {' '.join(argv)}", flush=True)
        if subprocess.run(argv, env=env, check=False).returncode != 0:
            print(f"[dev] installing {package} failed; {tests} will say so", flush=True)
            return


def _step_environ() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_MKDOCS_2_WARNING": "1",  # Material's end-of-life banner, not a build problem
    }


def _run(step: str, argv: list[str]) -> bool:
    print(f"\n[dev] {step}: {' '.join(argv)}", flush=True)
    return subprocess.run(argv, cwd=ROOT, env=_step_environ(), check=False).returncode == 0


Step = tuple[str, list[str]]


def _run_steps(foreground: list[Step], background: list[Step]) -> list[str]:
    """Run ``background`` while ``foreground`` runs in turn; the names of those that failed.

    A foreground step prints as it goes. A background step's output is kept in a file and
    printed whole under its own heading once the foreground is done, so two steps never
    interleave their lines.
    """
    with contextlib.ExitStack() as stack:
        started: list[tuple[str, list[str], subprocess.Popen[bytes], IO[bytes]]] = []
        for name, argv in background:
            log: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=_step_environ(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, process)  # on Ctrl-C or an error: leave nothing running
            started.append((name, argv, process, log))
        if background:
            names = ", ".join(name for name, _ in background)
            print(f"[dev] started in the background, shown after the rest: {names}", flush=True)
        failed = [name for name, argv in foreground if not _run(name, argv)]
        for name, argv, process, log in started:
            code = process.wait()
            print(f"\n[dev] {name}: {' '.join(argv)}", flush=True)
            log.seek(0)
            sys.stdout.buffer.write(log.read())
            sys.stdout.flush()
            if code != 0:
                print(f"[dev] {name} exited with {code}", flush=True)
                failed.append(name)
        return failed


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _pytest_workers() -> int:
    """pytest-xdist workers: ADMIN_REQUESTS_TEST_WORKERS, else two per core.

    More workers than cores pays: much of the suite waits (act runs a pip install and
    real retry delays, the soak tests injected timeouts) rather than computes.
    """
    configured = os.environ.get("ADMIN_REQUESTS_TEST_WORKERS", "")
    if configured.isdigit():
        return int(configured)
    return 2 * (os.cpu_count() or 1)


def run_tests(extra: list[str]) -> int:
    ensure_chromium()
    ensure_docker_registry()
    workers = _pytest_workers()
    # Tests that share a module's fixtures carry an xdist_group mark; the collection order
    # (slowest first, tests/conftest.py) is the order the workers take them in. Arguments
    # after 'test' come last, so '-n 0' runs the suite in one process.
    parallel = ["-n", str(workers), "--dist", "loadgroup", "--no-loadscope-reorder"]
    pytest = [str(BIN / "python"), "-m", "pytest", *parallel, "--cov", "--cov-report=term"]
    foreground: list[Step] = [
        ("ruff lint", [str(BIN / "ruff"), "check", *LINTED]),
        ("ruff format", [str(BIN / "ruff"), "format", "--check", *LINTED]),
        ("pytest", [*pytest, *extra]),
    ]
    # Independent of the tests and of each other, so they run meanwhile.
    background: list[Step] = [
        ("mypy", [str(BIN / "mypy")]),
        # zizmor at both of its strictest personas, each of which must find nothing:
        # pedantic adds code smells, auditor the findings that may be false positives.
        # --strict-collection: a workflow or dependabot.yml that zizmor cannot parse
        # fails the step instead of being skipped with a warning.
        *(
            (f"zizmor {persona}", [*ZIZMOR, f"--persona={persona}", ".github", "actions"])
            for persona in ZIZMOR_PERSONAS
        ),
        # The documentation site, offline; any warning (a broken link, a request key
        # without a description in the generated reference...) fails it.
        ("docs", [str(BIN / "mkdocs"), "build", "--strict", "--quiet"]),
    ]
    failed = _run_steps(foreground, background)
    if failed:
        print(f"\n[dev] FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("\n[dev] all checks passed", flush=True)
    return 0


def run_demo(extra: list[str]) -> int:
    """The real process.yml under act against the local sandbox, then a report."""
    ok = _run("process a sample queue", [str(BIN / "python"), "-m", "sandbox.demo", *extra])
    return 0 if ok else 1


def run_sandbox(extra: list[str]) -> int:
    """Fake GitHub, anaconda.org and OIDC issuer plus OpenBao on 127.0.0.1, until Ctrl-C."""
    argv = [str(BIN / "python"), "-m", "sandbox", *extra]
    print(f"\n[dev] sandbox: {' '.join(argv)}", flush=True)
    try:
        # Ctrl-C reaches both processes; the sandbox stops itself cleanly.
        return subprocess.run(argv, cwd=ROOT, check=False).returncode
    except KeyboardInterrupt:
        return 0


def run_bench(extra: list[str]) -> int:
    """Not a test: prints figures (``--quick`` for a short smoke run)."""
    script = str(ROOT / "benchmarks" / "run_all.py")
    return subprocess.run([str(BIN / "python"), script, *extra], cwd=ROOT, check=False).returncode


def run_generate(extra: list[str]) -> int:
    """Write the copies users and GitHub read from the kind folders (kinds/folders.py)."""
    argv = [str(BIN / "python"), "-m", "admin_requests.kinds.folders", "--root", str(ROOT)]
    return subprocess.run([*argv, *extra], cwd=ROOT, check=False).returncode


def main() -> int:
    commands = {
        "demo": run_demo,
        "sandbox": run_sandbox,
        "test": run_tests,
        "setup": lambda _args: 0,
        "bench": run_bench,
        "generate": run_generate,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1:] == ["setup", "--runtime"]:
        ensure_runtime_environment()
        return 0
    ensure_environment()
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
