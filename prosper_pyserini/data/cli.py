"""``prosper-data``: turn raw relevance data into a prepared dataset folder (see docs/DESIGN.md)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import click

from prosper_pyserini.cli_errors import Group
from prosper_pyserini.cli_options import Checked, InputPath, OutputPath
from prosper_pyserini.data.formats import InputError
from prosper_pyserini.data.prepared import DEFAULT_DEV_FRACTION, DEFAULT_SEED, PreparedDataset, summary_lines
from prosper_pyserini.options import COUNT, FRACTION, INTEGER

OUT = click.option("--out", "out", required=True, type=OutputPath(file_okay=False, path_type=Path),
                   help="Prepared dataset folder to write (created if absent; its files are replaced).")


def split_options(func: Callable) -> Callable:
    """Seeded train/dev split by query, shared by every source without an official split."""
    func = click.option("--dev-size", type=Checked(int, COUNT), default=None,
                        help="Number of dev queries (overrides --dev-fraction).")(func)
    func = click.option("--dev-fraction", type=Checked(float, FRACTION),
                        default=DEFAULT_DEV_FRACTION, show_default=True,
                        help="Fraction of judged queries held out as dev.")(func)
    func = click.option("--seed", type=Checked(int, INTEGER), default=DEFAULT_SEED, show_default=True,
                        help="Split seed: the same seed gives the same split on any machine.")(func)
    return func


def _run(prepare: Callable[..., PreparedDataset], *args: Any, **kwargs: Any) -> None:
    """Run a loader, turn bad input into a one-line error, and print the counts a user should check."""
    try:
        dataset = prepare(*args, **kwargs)
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {dataset.root}")
    for line in summary_lines(dataset.manifest()):
        click.echo("  " + line)


@click.group("prosper-data", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """Prepare relevance data sets in the one folder layout every later stage reads:
    corpus/products.jsonl, queries.{train,dev,all}.tsv, qrels.{train,dev,all}.txt (grades 0/1/2,
    relevant = 2) and manifest.json (source, counts, split, SHA-256 of each file)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@main.command()
@click.option("--raw", required=True, type=InputPath(dir_okay=False, path_type=Path),
              help="Kaggle Home Depot train.csv, or a .zip holding it (Latin-1, read as is).")
@click.option("--products", type=InputPath(dir_okay=False, path_type=Path), default=None,
              help='products.jsonl ({"id": product_uid, "title": ...}) for the full catalog; '
                   "default: the products of train.csv.")
@OUT
@split_options
@click.option("--skip-bad-lines", is_flag=True, help="Skip and count malformed rows instead of failing.")
def homedepot(raw: Path, products: Path | None, out: Path, seed: int, dev_fraction: float,
              dev_size: int | None, skip_bad_lines: bool) -> None:
    """Home Depot product search relevance (Kaggle train.csv).

    Grade 2 if relevance >= 2.67, 1 if >= 2.0, else 0; query id = "q" + first 10 hex digits of SHA-1 of
    the exact search term. Example:

      prosper-data homedepot --raw train.csv.zip --products products.jsonl --out data/homedepot
    """
    from prosper_pyserini.data.homedepot import prepare_homedepot

    _run(prepare_homedepot, raw, out, products=products, seed=seed, dev_fraction=dev_fraction,
         dev_size=dev_size, on_error="skip" if skip_bad_lines else "raise")


@main.command()
@OUT
@split_options
def sample(out: Path, seed: int, dev_fraction: float, dev_size: int | None) -> None:
    """The embedded sample catalog (~400 home-improvement products, ~100 queries), same code path as
    `homedepot`: a small real-format data set for trying every stage end to end."""
    from prosper_pyserini.data.homedepot import prepare_sample

    _run(prepare_sample, out, seed=seed, dev_fraction=dev_fraction, dev_size=dev_size)


@main.command()
@click.option("--raw", required=True, type=InputPath(file_okay=False, path_type=Path),
              help="Folder with shopping_queries_dataset_examples.parquet and _products.parquet.")
@OUT
@click.option("--locale", "locales", multiple=True, default=["us"], show_default=True,
              type=click.Choice(["us", "es", "jp"]), help="Product locale(s) to keep (repeatable).")
@click.option("--version", type=click.Choice(["small", "large"]), default="small", show_default=True,
              help="small = Task 1 (query-product ranking) subset; large = all judgments.")
@click.option("--fields", default="product_title", show_default=True,
              help="Comma-separated product columns joined into the document text.")
@click.option("--skip-bad-lines", is_flag=True, help="Skip and count rows with bad labels instead of failing.")
def esci(raw: Path, out: Path, locales: tuple[str, ...], version: str, fields: str, skip_bad_lines: bool) -> None:
    """Amazon Shopping Queries (ESCI): E=2, S=1, C=0, I=0; the official split (train -> train, test -> dev)."""
    from prosper_pyserini.data.ecommerce import prepare_esci

    _run(prepare_esci, raw, out, locales=locales, version=version, fields=_fields(fields),
         on_error="skip" if skip_bad_lines else "raise")


@main.command()
@click.option("--raw", required=True, type=InputPath(file_okay=False, path_type=Path),
              help="WANDS dataset folder with product.csv, query.csv, label.csv (tab-separated).")
@OUT
@click.option("--fields", default="product_name,product_class,product_description", show_default=True,
              help="Comma-separated product.csv columns joined into the document text.")
@split_options
def wands(raw: Path, out: Path, fields: str, seed: int, dev_fraction: float, dev_size: int | None) -> None:
    """Wayfair WANDS: Exact=2, Partial=1, Irrelevant=0; seeded train/dev split by query."""
    from prosper_pyserini.data.ecommerce import prepare_wands

    _run(prepare_wands, raw, out, fields=_fields(fields), seed=seed, dev_fraction=dev_fraction, dev_size=dev_size)


@main.command()
@click.option("--raw", required=True, type=InputPath(file_okay=False, path_type=Path),
              help="One Multi-CPR domain folder: corpus.tsv, {train,dev}.query.txt, qrels.{train,dev}.tsv.")
@OUT
@click.option("--domain", type=click.Choice(["ecom", "medical", "video"]), default="ecom", show_default=True,
              help="Domain name recorded in the manifest.")
def multicpr(raw: Path, out: Path, domain: str) -> None:
    """Alibaba Multi-CPR: every judged pair is grade 2; the official train/dev split."""
    from prosper_pyserini.data.ecommerce import prepare_multicpr

    _run(prepare_multicpr, raw, out, domain=domain)


@main.command()
@click.argument("dataset_id")
@OUT
@click.option("--doc-fields", default=None, help="Comma-separated doc fields (default: the data set's default_text).")
@click.option("--query-fields", default=None, help="Comma-separated query fields (default: default_text).")
@click.option("--grades", default=None, metavar="LEVEL=GRADE,...",
              help="Map relevance levels to 0/1/2, e.g. '3=2,2=2,1=1,0=0' (default: binary 1 -> 2; graded >=2 -> 2).")
@split_options
def irds(dataset_id: str, out: Path, doc_fields: str | None, query_fields: str | None, grades: str | None,
         seed: int, dev_fraction: float, dev_size: int | None) -> None:
    """Any ir_datasets id with docs, queries and qrels (e.g. `prosper-data irds beir/scifact/test --out DIR`)."""
    from prosper_pyserini.data.irds import prepare_irds

    _run(prepare_irds, dataset_id, out, doc_fields=_fields(doc_fields), query_fields=_fields(query_fields),
         grades=_grades(grades), seed=seed, dev_fraction=dev_fraction, dev_size=dev_size)


def _fields(value: str | None) -> list[str] | None:
    if value is None:
        return None
    fields = [f.strip() for f in value.split(",") if f.strip()]
    if not fields:
        raise click.BadParameter("name at least one field")
    return fields


def _grades(value: str | None) -> dict[int, int] | None:
    if value is None:
        return None
    try:
        return {int(k): int(v) for k, v in (item.split("=") for item in value.split(","))}
    except ValueError:
        raise click.BadParameter(f"expected LEVEL=GRADE pairs like '3=2,1=1,0=0', not {value!r}") from None


if __name__ == "__main__":
    main()
