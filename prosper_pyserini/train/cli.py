"""``prosper-train``: train PROSPER, SPLADE, SP-LLM or a dense baseline from one YAML config."""

from __future__ import annotations

import json
import logging
import os
from contextlib import nullcontext

import click

from prosper_pyserini.cli_errors import Command
from prosper_pyserini.cli_options import InputPath, OutputPath
from prosper_pyserini.data.formats import InputError
from prosper_pyserini.locks import LockedError, exclusive


@click.command("prosper-train", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_names", multiple=True, default=("prosper",), show_default=True,
              help="Preset name (prosper, splade, sp-llm, dense, cpu) or path to a YAML file, merged onto "
                   "prosper.yaml; repeat to merge several in order (--config splade --config cpu).")
@click.option("--data", "data_dir", required=True, type=InputPath(exists=True, file_okay=False),
              help="Prepared dataset folder (corpus/products.jsonl, queries.*.tsv, qrels.*.txt).")
@click.option("--output", "output_dir", required=True, type=OutputPath(file_okay=False),
              help="Output folder: best/ and last/ checkpoints, train_log.jsonl, config.yaml, summary.json.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.option("--validate-only", is_flag=True,
              help="No training: print dev loss and dev MRR@10 of the (zero-shot or resumed) encoder as JSON.")
@click.argument("overrides", nargs=-1)
def main(config_names: tuple[str, ...], data_dir: str, output_dir: str, print_config: bool, validate_only: bool,
         overrides: tuple[str, ...]) -> None:
    """Train an encoder. OVERRIDES are key=value pairs with dotted keys, values parsed as YAML, e.g.

    \b
      prosper-train --config prosper --data data/homedepot --output runs/prosper \\
          model.backbone=smollm2-135m train.batch_size=16 train.epochs=2 model.k_q=128
      prosper-train --config splade --data data/homedepot --output runs/splade \\
          data.hard_negatives.run=runs/bm25.train.trec
      prosper-train --config prosper --config cpu --data data/homedepot --output runs/prosper-cpu \\
          data.hard_negatives.run=runs/bm25.train.trec data.hard_negatives.n=1
      torchrun --nproc-per-node 4 -m prosper_pyserini.train.cli --data ... --output ...
    """
    import yaml

    from prosper_pyserini.presets import load_train_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_train_config(config_names, overrides)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from None
    if print_config:
        click.echo(yaml.safe_dump(config.to_dict(), sort_keys=False))
        return
    from prosper_pyserini.weights import UnknownModelError

    from .trainer import NonFiniteError, Trainer, continue_training, train

    try:
        if validate_only:
            click.echo(json.dumps(Trainer(config, data_dir, output_dir).validate()))
            return
        # one writer per folder (torchrun's other ranks write nothing); a killed run picks up from its last/
        writer = exclusive(output_dir, "training folder") if os.environ.get("RANK", "0") == "0" else nullcontext()
        with writer:
            config, step = continue_training(config, output_dir)
            if step is not None:
                click.echo(f"{output_dir}: resuming the interrupted training from step {step} (its last/ "
                           "checkpoint)", err=True)
            summary = train(config, data_dir, output_dir)
    except (InputError, NonFiniteError, LockedError) as exc:
        raise click.ClickException(str(exc)) from None
    except UnknownModelError as exc:  # a typo in model.backbone is a usage error, not a fault
        raise click.UsageError(f"model.backbone: {exc}") from None
    click.echo(f"done: {summary['steps']} steps in {summary['seconds']} s; "
               f"best dev MRR@10 = {summary['best_dev_mrr10']}; checkpoints in {output_dir}/best and {output_dir}/last")


if __name__ == "__main__":
    main()
