"""Query buckets for the per-query win table: each rule pinned by hand-picked Home Depot-style queries."""

from prosper_pyserini.eval.buckets import brand_tokens, query_bucket, tokens, top_unjudged, win_table

TITLES = ["DEWALT 20-Volt Drill", "DEWALT Impact Driver", "DEWALT Saw Blade", "Simpson Strong-Tie Angle",
          "House of Fara Casing", "Glacier Bay House Faucet", "Ryobi House Fan", "Home Decorators House Rug"]
VOCABULARY = {w for t in TITLES for w in tokens(t)} | {"cable", "lights", "lumber", "treated"}


def test_tokens_keep_fractions_and_dimensions_whole():
    assert tokens("Treated Lumber 2x4x8, 1/2 in. 2.5-gal") == ["treated", "lumber", "2x4x8", "1/2", "in", "2.5", "gal"]


def test_brands_lead_titles_and_common_words_do_not():
    # dewalt starts 3 of the 3 titles it is in; house starts 1 of 4; simpson starts only 1 title
    assert brand_tokens(TITLES) == {"dewalt"}


def test_each_rule_in_order():
    brands = brand_tokens(TITLES)
    assert query_bucket("milwaukee m12 jacket", brands, VOCABULARY) == "model number"
    assert query_bucket("dewalt 20v drill", brands, VOCABULARY) == "quantity"       # 20v is a quantity, not a model
    assert query_bucket("treated lumber 2x4x8", brands, VOCABULARY) == "quantity"
    assert query_bucket("dewalt drill", brands, VOCABULARY) == "brand"
    assert query_bucket("drill dispensor", brands, VOCABULARY) == "unknown word"
    assert query_bucket("house fan", brands, VOCABULARY) == "other"


def test_win_table_counts_wins_ties_and_deltas():
    queries = {"q1": "dewalt drill", "q2": "dewalt saw", "q3": "house fan", "q4": "m12 battery"}
    a = {"q1": 1.0, "q2": 0.5, "q3": 0.2, "q4": 0.0}
    b = {"q1": 0.5, "q2": 0.5, "q3": 1.0}                       # q4 absent from B: scores 0
    # B ranks an unjudged product first on q1 (a loss for B) and on q3 (a win): only q1 counts
    rows = {r.bucket: r for r in win_table(a, b, queries, {"dewalt"}, VOCABULARY, unjudged_b={"q1", "q3"})}
    brand = rows["brand"]
    assert (brand.queries, brand.a_better, brand.b_better, brand.ties) == (2, 1, 0, 1)
    assert (brand.a_better_b_unjudged, rows["other"].a_better_b_unjudged, rows["all"].a_better_b_unjudged) == (1, 0, 1)
    assert brand.mean_delta == -0.25 and brand.examples == [(-0.5, "dewalt drill")]
    assert (rows["other"].b_better, rows["model number"].ties) == (1, 1)
    assert rows["all"].queries == 4 and abs(rows["all"].delta - (-0.5 + 0.8)) < 1e-12


def test_top_unjudged_reads_the_first_product_in_trec_eval_tie_order():
    qrels = {"q1": {"d1": 0, "d2": 2}, "q2": {"d1": 2}, "q3": {"d1": 2}}
    run = {"q1": {"d1": 1.0, "d9": 1.0},   # tie: d9 comes first (docid descending) and is unjudged
           "q2": {"d1": 1.0, "d3": 0.5},   # a judged product first, even if only one
           "q3": {},                        # nothing retrieved: no top product to count
           "q4": {"d1": 3.0}}               # a query without judgments: its top product is unjudged
    assert top_unjudged(run, qrels) == {"q1", "q4"}


def test_cli_writes_the_table_into_a_readme_block(tmp_path):
    import pytest

    from prosper_pyserini.data.formats import write_qrels, write_queries, write_run
    from prosper_pyserini.eval.cli import main

    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("".join(f"d{i}\t{t}\n" for i, t in enumerate(TITLES)))
    write_queries({"q1": "dewalt drill", "q2": "house fan"}, tmp_path / "q.tsv")
    write_qrels({"q1": {"d0": 2}, "q2": {"d6": 2}}, tmp_path / "qrels.txt")
    write_run({"q1": {"d0": 2.0, "d1": 1.0}, "q2": {"d5": 2.0, "d6": 1.0}}, tmp_path / "a.trec", tag="a")
    write_run({"q1": {"d1": 2.0, "d0": 1.0}, "q2": {"d6": 2.0}}, tmp_path / "b.trec", tag="b")
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- prosper-eval:buckets:begin -->\n<!-- prosper-eval:buckets:end -->\n")
    with pytest.raises(SystemExit) as done:
        main(["buckets", str(tmp_path / "a.trec"), str(tmp_path / "b.trec"), "--qrels", str(tmp_path / "qrels.txt"),
              "--queries", str(tmp_path / "q.tsv"), "--corpus", str(corpus), "--readme", str(readme)])
    assert done.value.code == 0
    block = readme.read_text()
    assert "prosper-eval buckets" in block and "| brand" in block and "'dewalt drill' (-0.50)" in block
    # q1, which a wins, has b's first product d1 unjudged: counted in the column after "a better"
    header, brand = ([cell.strip() for cell in line.split("|")[1:-1]] for line in block.splitlines()
                     if line.startswith(("| queries", "| brand")))
    assert dict(zip(header, brand))["a better"] == "1" and dict(zip(header, brand))["… b's #1 unjudged"] == "1"
