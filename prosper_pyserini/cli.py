"""``prosper``: small tools around a trained model (``prosper explain``)."""

from __future__ import annotations

import click

from prosper_pyserini.cli_errors import Group
from prosper_pyserini.cli_options import Checked
from prosper_pyserini.options import POSITIVE


@click.group("prosper", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """PROSPER tools. The pipeline commands are prosper-data, -weights, -train, -encode, -index, -search,
    -eval and -repro."""


@main.command()
@click.option("--model", required=True, help="Checkpoint folder, or a backbone name/path for the zero-shot encoder.")
@click.option("--side", type=click.Choice(["query", "doc"]), default="query", show_default=True,
              help="Encode as a query (query window and normalisation) or as a product.")
@click.option("--top", default=15, show_default=True, type=Checked(int, POSITIVE), help="Terms shown per group.")
@click.argument("texts", nargs=-1, required=True)
def explain(model: str, side: str, top: int, texts: tuple[str, ...]) -> None:
    """Print each TEXT's top-weighted terms: literal (in the text) and expansion, with weights."""
    from rich.console import Console
    from rich.table import Table

    if not all(text.strip() for text in texts):
        raise click.BadParameter("an empty text has no terms to explain", param_hint="TEXTS")
    from prosper_pyserini.explain import explain_texts
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.weights import UnknownModelError

    try:
        encoder = load_encoder(model)
    except UnknownModelError as exc:
        raise click.BadParameter(str(exc), param_hint="'--model'") from None
    if not hasattr(encoder, "vocab_terms"):
        raise click.UsageError(f"{model} is a dense model: it has no terms to explain")
    console = Console()
    for view in explain_texts(encoder, texts, side=side):
        table = Table(title=f"{view.text!r} ({side}, {view.active_terms} active terms)", title_justify="left")
        table.add_column("literal term")
        table.add_column("weight", justify="right")
        table.add_column("expansion term")
        table.add_column("weight", justify="right")
        for i in range(min(top, max(len(view.literal), len(view.expansion)))):
            lit = view.literal[i] if i < len(view.literal) else ("", None)
            exp = view.expansion[i] if i < len(view.expansion) else ("", None)
            table.add_row(lit[0], "" if lit[1] is None else f"{lit[1]:.3f}",
                          exp[0], "" if exp[1] is None else f"{exp[1]:.3f}")
        console.print(table)


if __name__ == "__main__":
    main()
