"""ESCI, WANDS, Multi-CPR and ir_datasets loaders, end to end into prepared folders (fixtures in the
official file layouts under tests/fixtures/data/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from prosper_pyserini.data.cli import main
from prosper_pyserini.data.ecommerce import prepare_esci, prepare_multicpr, prepare_wands
from prosper_pyserini.data.formats import InputError, read_corpus
from prosper_pyserini.data.irds import grade_map
from prosper_pyserini.data.prepared import PreparedDataset

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def corpus(dataset: PreparedDataset) -> dict[str, str]:
    return {d.id: d.text for d in read_corpus(dataset.corpus)}


# ----------------------------------------------------------------------------------------------- ESCI


def test_esci_small_us(tmp_path: Path) -> None:
    dataset = PreparedDataset.load(prepare_esci(FIXTURES / "esci", tmp_path / "esci").root, verify=True)
    # query 0 is large-version only; query 3 is Spanish; product B09EMPTY00 has no title
    assert dataset.queries("all") == {"1": "!awnmower tires without rims", "2": "20 inch bike tire"}
    assert dataset.queries("train") == {"1": "!awnmower tires without rims"}
    assert dataset.queries("dev") == {"2": "20 inch bike tire"}  # official test split
    assert dataset.qrels("all") == {"1": {"B075SCHMPY": 0, "B08L3B9B9P": 2, "B082K7V2GZ": 1, "B07P4CF3DP": 0},
                                    "2": {"B08L3B9B9P": 1, "B07P4CF3DP": 2}}
    docs = corpus(dataset)
    assert "B0UNJUDGED" in docs and "B09EMPTY00" not in docs and len(docs) == 6  # all us products with text
    assert docs["B08L3B9B9P"] == "MaxAuto 2-Pack 13x5.00-6 Lawn Mower Tire"
    stats = dataset.manifest()["stats"]
    assert stats["products_without_text"] == 1 and stats["judgments_of_products_without_text"] == 1


def test_esci_locales_fields_and_large(tmp_path: Path) -> None:
    dataset = prepare_esci(FIXTURES / "esci", tmp_path / "esci", locales=("us", "es"), version="large",
                           fields=("product_title", "product_brand"))
    assert set(dataset.queries("all")) == {"0", "1", "2", "3"}
    assert dataset.qrels("all")["3"] == {"es_B08L3B9B9P": 2}  # same ASIN in two locales: prefixed ids
    docs = corpus(dataset)
    assert docs["us_B000MOO21W"] == "Panasonic FV-08VRE2 Ventilation Fan with Heater Panasonic"
    assert docs["us_B07P4CF3DP"] == "2PK 13x5.00-6 Tire Tube Kit"  # missing brand left out


def test_esci_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="shopping_queries_dataset_examples.parquet: no such file"):
        prepare_esci(tmp_path, tmp_path / "out")
    shutil.copytree(FIXTURES / "esci", tmp_path / "bad")
    with pytest.raises(InputError, match="missing column"):
        prepare_esci(tmp_path / "bad", tmp_path / "out", fields=("product_subtitle",))
    import pandas as pd

    path = tmp_path / "bad" / "shopping_queries_dataset_examples.parquet"
    frame = pd.read_parquet(path)
    frame.loc[2, "esci_label"] = "X"
    frame.to_parquet(path, index=False)
    with pytest.raises(InputError, match=r"examples.parquet:3: row 3: esci_label 'X'"):
        prepare_esci(tmp_path / "bad", tmp_path / "out")
    dataset = prepare_esci(tmp_path / "bad", tmp_path / "out", on_error="skip")
    assert dataset.manifest()["stats"]["skipped_rows"] == 1


# ---------------------------------------------------------------------------------------------- WANDS


def test_wands(tmp_path: Path) -> None:
    dataset = prepare_wands(FIXTURES / "wands", tmp_path / "wands", dev_size=1)
    queries = dataset.queries("all")
    assert queries == {"1": "slow cooker", "2": 'fawkes 36" blue vanity', "3": "dull bed with shirt head board"}
    assert "0" not in queries  # no labels
    assert dataset.qrels("all") == {"1": {"1": 2, "3": 0}, "2": {"2": 2, "0": 0}, "3": {"0": 1, "3": 0}}
    assert len(dataset.queries("dev")) == 1 and len(dataset.queries("train")) == 2
    docs = corpus(dataset)
    assert len(docs) == 4
    assert docs["2"] == "fawkes 36 '' single bathroom vanity set Bathroom Vanities"  # empty description dropped
    assert dataset.manifest()["counts"]["queries_without_judgments"] == 1


def test_wands_errors(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "wands", tmp_path / "w")
    label = tmp_path / "w" / "label.csv"
    label.write_text(label.read_text() + "6\t1\t99\tExact\n")
    with pytest.raises(InputError, match=r"label.csv:8: product_id 99 is not in product.csv"):
        prepare_wands(tmp_path / "w", tmp_path / "out")
    label.write_text(label.read_text().replace("6\t1\t99\tExact", "6\t1\t2\tSomewhat"))
    with pytest.raises(InputError, match=r"label.csv:8: label 'Somewhat'"):
        prepare_wands(tmp_path / "w", tmp_path / "out")
    with pytest.raises(InputError, match=r"product.csv:1: missing column\(s\) product_title"):
        prepare_wands(tmp_path / "w", tmp_path / "out", fields=("product_title",))


# ------------------------------------------------------------------------------------------ Multi-CPR


def test_multicpr(tmp_path: Path) -> None:
    dataset = prepare_multicpr(FIXTURES / "multicpr", tmp_path / "m")
    assert dataset.queries("train") == {"101": "尼康z62", "102": "小米手环"}
    assert dataset.queries("dev") == {"201": "海尔冰箱三门"}
    assert dataset.qrels("all") == {"101": {"1": 2}, "102": {"2": 2}, "201": {"3": 2}}
    assert len(corpus(dataset)) == 4 and corpus(dataset)["1"].startswith("尼康/Nikon")
    assert dataset.manifest()["source"]["name"] == "multicpr-ecom"


def test_multicpr_bad_qrels(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "multicpr", tmp_path / "m")
    (tmp_path / "m" / "qrels.dev.tsv").write_text("201\t0\t3\t1\n999 0 3 1\n")
    with pytest.raises(InputError, match=r"qrels.dev.tsv:2: expected 4 tab-separated columns"):
        prepare_multicpr(tmp_path / "m", tmp_path / "out")


def test_cli_ecommerce(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["esci", "--raw", str(FIXTURES / "esci"), "--locale", "us", "--fields", "product_title,product_color"],
                 ["wands", "--raw", str(FIXTURES / "wands"), "--dev-size", "1"],
                 ["multicpr", "--raw", str(FIXTURES / "multicpr"), "--domain", "ecom"]):
        result = runner.invoke(main, [*args, "--out", str(tmp_path / args[0])])
        assert result.exit_code == 0, result.output
        PreparedDataset.load(tmp_path / args[0], verify=True)
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["wands", "--raw", str(tmp_path / "empty"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "product.csv: no such file" in result.output
    result = runner.invoke(main, ["wands", "--raw", str(tmp_path / "empty"), "--out", str(tmp_path / "empty" / "x")])
    assert result.exit_code == 2 and "--out" in result.output and "inside" in result.output, result.output


# ---------------------------------------------------------------------------------------- ir_datasets


def test_grade_map() -> None:
    binary = grade_map([0, 1])
    assert (binary(1), binary(0)) == (2, 0)
    graded = grade_map([0, 1, 2, 3])
    assert [graded(level) for level in (0, 1, 2, 3)] == [0, 1, 2, 2]
    explicit = grade_map([0, 1, 2, 3], {3: 2, 2: 1, 1: 0, 0: 0})
    assert explicit(2) == 1
    with pytest.raises(ValueError, match="not in the grade map"):
        explicit(4)


def test_irds_registered_local_dataset(tmp_path: Path) -> None:
    """A real ir_datasets Dataset (TsvDocs/TsvQueries/TrecQrels over local files), registered and loaded by id."""
    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecQrels, TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    (tmp_path / "docs.tsv").write_text("d1\tcordless drill driver kit\nd2\tgarden hose 50 ft\nd3\t\nd4\tclaw hammer\n")
    (tmp_path / "queries.tsv").write_text("1\tdrill\n2\those\n3\thammer\n4\tunjudged\n")
    (tmp_path / "qrels.txt").write_text("1 0 d1 3\n1 0 d2 0\n2 0 d2 2\n2 0 d3 1\n3 0 d4 1\n")
    name = f"prosper-test/{tmp_path.name}"
    if name not in ir_datasets.registry:
        ir_datasets.registry.register(name, Dataset(
            TsvDocs(LocalDownload(tmp_path / "docs.tsv")),
            TsvQueries(LocalDownload(tmp_path / "queries.tsv")),
            TrecQrels(LocalDownload(tmp_path / "qrels.txt"), {0: "no", 1: "related", 2: "high", 3: "perfect"}),
        ))
    from prosper_pyserini.data.irds import prepare_irds

    dataset = prepare_irds(name, tmp_path / "out", dev_size=1)
    assert dataset.queries("all") == {"1": "drill", "2": "hose", "3": "hammer"}
    assert dataset.qrels("all") == {"1": {"d1": 2, "d2": 0}, "2": {"d2": 2}, "3": {"d4": 1}}  # d3 has no text
    assert corpus(dataset) == {"d1": "cordless drill driver kit", "d2": "garden hose 50 ft", "d4": "claw hammer"}
    stats = dataset.manifest()["stats"]
    assert stats == {"qrels_of_unknown_queries": 0, "documents_without_text": 1, "judgments_of_missing_products": 1}
    assert dataset.manifest()["source"]["grades"] == {"0": 0, "1": 1, "2": 2, "3": 2}
    with pytest.raises(ValueError, match="unknown ir_datasets id"):
        prepare_irds("no-such/dataset-xyz", tmp_path / "none")
