"""The results table in every form a researcher pastes somewhere: terminal, Markdown, LaTeX, CSV, JSON.

One function builds the cells (value, ▲/▼ versus the baseline, superscript letters of systems beaten);
the writers only format them, so every output shows the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from prosper_pyserini.data.formats import atomic_write
from prosper_pyserini.eval.metrics import EvalResults
from prosper_pyserini.eval.significance import Significance, superscript

DIGITS = 4


def _cell(results: EvalResults, system: str, metric: str, style: str) -> str:
    value = f"{results.means[system][metric]:.{DIGITS}f}"
    sig: Significance | None = results.significance  # type: ignore[assignment]
    if sig is None:
        return value
    mark, beats = sig.mark(metric, system), "".join(sig.beats[metric][system])
    if style == "latex":
        mark = {"▲": r"$^\blacktriangle$", "▼": r"$^\blacktriangledown$"}.get(mark, "")
        return value + mark + (rf"\textsuperscript{{{beats}}}" if beats else "")
    return value + mark + (superscript(beats) if style == "unicode" else (f"^{beats}" if beats else ""))


def table_rows(results: EvalResults, style: str = "unicode") -> tuple[list[str], list[list[str]]]:
    """Header and rows; ``style`` is ``unicode`` (terminal/Markdown/HTML), ``latex`` or ``plain``."""
    sig = results.significance
    headers = (["#"] if sig else []) + ["System"] + [m.label for m in results.metrics] + ["Missing q"]
    rows = []
    for system in results.systems:
        name = system + (" (baseline)" if sig and system == sig.baseline else "")  # type: ignore[attr-defined]
        row = ([sig.letters[system]] if sig else []) + [name]  # type: ignore[attr-defined]
        row += [_cell(results, system, m.name, style) for m in results.metrics]
        rows.append(row + [str(results.missing[system])])
    return headers, rows


def caption(results: EvalResults) -> str:
    text = (
        f"{len(results.qids)} queries with ≥1 doc graded ≥ {results.threshold}; Hit/MRR/Recall count grade ≥ "
        f"{results.threshold} as relevant, nDCG uses the grades as gains; queries missing from a run score 0."
    )
    if results.significance is not None:
        text += " " + results.significance.legend()  # type: ignore[attr-defined]
    return text


def to_markdown(results: EvalResults) -> str:
    headers, rows = table_rows(results)
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True) + "\n\n" + caption(results) + "\n"


def to_html(results: EvalResults) -> str:
    headers, rows = table_rows(results)
    align = ["left" if h in ("#", "System") else "right" for h in headers]
    return tabulate(rows, headers, tablefmt="html", disable_numparse=True, colalign=align)


def to_latex(results: EvalResults) -> str:
    headers, rows = table_rows(results, style="latex")
    escape = lambda s: s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%").replace("#", r"\#")  # noqa: E731
    body = tabulate([[escape(c) if "$" not in c and "\\" not in c else c for c in r] for r in rows],
                    [escape(h).replace("≥", r"$\geq$") for h in headers], tablefmt="latex_raw", disable_numparse=True)
    note = escape(caption(results)).replace("≥", r"$\geq$").replace("α", r"$\alpha$")
    note = note.replace("▲", r"$\blacktriangle$").replace("▼", r"$\blacktriangledown$")
    head = "% needs \\usepackage{amssymb}\n\\begin{table}\n\\centering\n"
    return head + body + f"\n\\caption{{{note}}}\n\\end{{table}}\n"


def to_csv(results: EvalResults) -> str:
    """Plain numbers, full precision, one column per metric plus p-values against the baseline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    sig = results.significance
    header = ["system"] + [m.name for m in results.metrics] + ["missing_queries", "evaluated_queries"]
    if sig is not None:
        header += [f"{m.name}_p_adj_vs_baseline" for m in results.metrics]
    writer.writerow(header)
    for system in results.systems:
        row: list[Any] = [system] + [repr(results.means[system][m.name]) for m in results.metrics]
        row += [results.missing[system], len(results.qids)]
        if sig is not None:
            row += [sig.vs_baseline[m.name].get(system, {}).get("p_adj", "") for m in results.metrics]  # type: ignore
        writer.writerow(row)
    return out.getvalue()


def to_json(results: EvalResults, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "threshold": results.threshold,
        "evaluated_queries": len(results.qids),
        "metrics": [{"name": m.name, "ranx": m.ranx, "label": m.label} for m in results.metrics],
        "results": results.means,
        "missing_queries": results.missing,
        "stat_test": results.stat_test,
        "p_values": {
            m: {f"{a} vs {b}": p for (a, b), p in pairs.items() if a < b} for m, pairs in results.p_values.items()
        },
        "significance": results.significance.to_json() if results.significance is not None else None,  # type: ignore
        "validation": [report.counts() for report in results.validation],
    }
    data.update(extra or {})
    return data


_TREC_EVAL_OUT = {"hit": "success_{k}", "recall": "recall_{k}", "ndcg": "ndcg_cut_{k}", "precision": "P_{k}"}


def trec_eval_lines(results: EvalResults) -> list[str]:
    """trec_eval's output layout, ``measure<TAB>all<TAB>value`` per system (after a ``runid`` line).

    Measures trec_eval has are printed under its names (``success_10``, ``ndcg_cut_10``, ``recip_rank`` for
    an uncut MRR); the rest (``mrr@10``) under ours. Values are the same means as the table's.
    """
    lines = []
    for system in results.systems:
        lines.append(f"{'runid':<22}\tall\t{system}")
        lines.append(f"{'num_q':<22}\tall\t{len(results.qids)}")
        for metric in results.metrics:
            base, _, k = metric.name.partition("@")
            if base == "mrr" and not k:
                name = "recip_rank"
            else:
                name = _TREC_EVAL_OUT[base].format(k=k) if base in _TREC_EVAL_OUT and k.isdigit() else metric.name
            lines.append(f"{name:<22}\tall\t{results.means[system][metric.name]:.4f}")
    return lines


def write_tables(results: EvalResults, prefix: str | os.PathLike[str]) -> list[Path]:
    """``PREFIX.md``, ``.tex``, ``.csv``, ``.json``; returns the paths written."""
    prefix = Path(prefix)
    outputs = {
        ".md": to_markdown(results),
        ".tex": to_latex(results),
        ".csv": to_csv(results),
        ".json": json.dumps(to_json(results), indent=2, ensure_ascii=False) + "\n",
    }
    paths = []
    for suffix, text in outputs.items():
        path = prefix.with_name(prefix.name + suffix)
        with atomic_write(path) as out:
            out.write(text)
        paths.append(path)
    return paths


def write_per_query(results: EvalResults, path: str | os.PathLike[str]) -> Path:
    """One row per (system, query) with every metric; TSV when the name ends in ``.tsv``, else CSV."""
    path = Path(path)
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with atomic_write(path) as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        writer.writerow(["system", "qid"] + [m.name for m in results.metrics] + ["first_relevant_rank"])
        for system in results.systems:
            scores = results.per_query[system]
            for qid in results.qids:
                row = [system, qid] + [f"{scores[m.name][qid]:.6g}" for m in results.metrics]
                writer.writerow(row + [results.first_relevant[system][qid]])
    return path


def print_table(results: EvalResults, console: Any = None) -> None:
    """The table on the terminal (rich), with the legend and validation messages under it."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    headers, rows = table_rows(results)
    rows = [[escape(cell) for cell in row] for row in rows]
    table = Table(caption=escape(caption(results)), caption_justify="left")
    for i, header in enumerate(headers):
        width = max(len(row[i]) for row in rows)  # numbers are never truncated; long headers wrap instead
        table.add_column(header, justify="left" if header in ("#", "System") else "right", min_width=width)
    for row in rows:
        table.add_row(*row)
    _print_wide(console, table)


def _print_wide(console: Any, renderable: Any) -> None:
    """Print at the renderable's natural width so numbers and ids are never cut with an ellipsis."""
    from rich.measure import Measurement

    needed = Measurement.get(console, console.options.update(width=10_000), renderable).maximum
    if needed > console.width:
        console = type(console)(width=needed, file=console.file, force_terminal=console.is_terminal)
    console.print(renderable)


# ---------------------------------------------------------------------------------------- per-query diff


@dataclass
class QueryDiff:
    """One query where two systems differ: scores, the query text and what each system put on top."""

    qid: str
    text: str
    scores: dict[str, float]  # system -> metric value
    delta: float  # second system minus first
    relevant: int  # docs graded >= threshold
    top: dict[str, list[tuple[str, str, int | None]]]  # system -> [(docid, title, grade or None if unjudged)]
    terms: dict[str, str] = field(default_factory=dict)  # system -> free text, e.g. the query's term weights


def diff_queries(
    results: EvalResults,
    runs: Mapping[str, Mapping[str, Mapping[str, float]]],
    qrels: Mapping[str, Mapping[str, int]],
    metric: str,
    systems: tuple[str, str] | None = None,
    top: int = 20,
    depth: int = 5,
    queries: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    term_info: Mapping[str, Mapping[str, str]] | None = None,
) -> list[QueryDiff]:
    """The ``top`` evaluated queries with the largest |metric(B) − metric(A)| (ties: larger B first, then qid).

    ``term_info`` maps system → qid → text shown under that system's list (e.g. a sparse model's query
    terms and weights), so a caller with a model can explain *why* the systems differ.
    """
    from prosper_pyserini.eval.metrics import rank_order

    a, b = systems or (results.systems[0], results.systems[1])
    name = results.metric(metric).name
    qa, qb = results.per_query[a][name], results.per_query[b][name]
    order = sorted(results.qids, key=lambda q: (-abs(qb[q] - qa[q]), -(qb[q] - qa[q]), q))[:top]
    out = []
    for qid in order:
        judged = qrels.get(qid, {})
        lists = {}
        for system in (a, b):
            docs = rank_order(runs[system].get(qid, {}))[:depth]
            lists[system] = [(d, (titles or {}).get(d, ""), judged.get(d)) for d in docs]
        terms = {s: term_info[s][qid] for s in (a, b) if term_info and qid in term_info.get(s, {})}
        out.append(
            QueryDiff(
                qid=qid,
                text=(queries or {}).get(qid, ""),
                scores={a: qa[qid], b: qb[qid]},
                delta=qb[qid] - qa[qid],
                relevant=sum(1 for g in judged.values() if g >= results.threshold),
                top=lists,
                terms=terms,
            )
        )
    return out


def _doc_line(rank: int, doc: tuple[str, str, int | None], threshold: int, width: int = 60) -> str:
    docid, title, grade = doc
    mark = "✔" if grade is not None and grade >= threshold else ("·" if grade is None else str(grade))
    title = title if len(title) <= width else title[: width - 1] + "…"
    return f"{rank:>2}. [{mark}] {docid}" + (f"  {title}" if title else "")


def diff_markdown(diffs: list[QueryDiff], metric: str, threshold: int) -> str:
    """The diff as Markdown (✔ relevant, a digit = lower grade, · unjudged)."""
    lines = [f"# Per-query differences ({metric})", "", f"✔ grade ≥ {threshold}; digit: lower grade; ·: unjudged", ""]
    for d in diffs:
        (a, sa), (b, sb) = d.scores.items()
        scores = f"{a} {sa:.4f} → {b} {sb:.4f} (Δ {d.delta:+.4f}); {d.relevant} relevant"
        lines += [f"## {d.qid}: {d.text}", "", scores, ""]
        for system, docs in d.top.items():
            lines.append(f"**{system}**" + (f" — terms: {d.terms[system]}" if system in d.terms else ""))
            lines += [f"    {_doc_line(i, doc, threshold)}" for i, doc in enumerate(docs, 1)] + [""]
    return "\n".join(lines)


def print_diff(diffs: list[QueryDiff], metric: str, threshold: int, console: Any = None) -> None:
    """Side-by-side top lists per query on the terminal."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]Largest per-query differences in {metric}[/] "
                  f"(✔ grade ≥ {threshold}, digit: lower grade, ·: unjudged)")
    for d in diffs:
        (a, sa), (b, sb) = d.scores.items()
        text = escape(f"  {d.text!r}") if d.text else ""
        console.print(f"\n[bold]{d.qid}[/]{text}  {a} {sa:.4f} → {b} {sb:.4f}  "
                      f"(Δ {d.delta:+.4f}, {d.relevant} relevant)", highlight=False, markup=True)
        table = Table(show_lines=False, expand=False)
        table.add_column(a, overflow="fold")
        table.add_column(b, overflow="fold")
        la = [escape(_doc_line(i, doc, threshold, 45)) for i, doc in enumerate(d.top[a], 1)]
        lb = [escape(_doc_line(i, doc, threshold, 45)) for i, doc in enumerate(d.top[b], 1)]
        for i in range(max(len(la), len(lb))):
            table.add_row(la[i] if i < len(la) else "", lb[i] if i < len(lb) else "")
        if d.terms:
            table.add_row(escape(d.terms.get(a, "")), escape(d.terms.get(b, "")), style="dim")
        _print_wide(console, table)


def buckets_markdown(rows: Sequence[Any], a: str, b: str, label: str) -> str:
    """The :func:`~prosper_pyserini.eval.buckets.win_table` rows as Markdown, with the queries A wins most."""
    body = [[r.bucket, r.queries, r.a_better, r.a_better_b_unjudged, r.b_better, r.ties, f"{r.mean_delta:+.4f}",
             "; ".join(f"{text!r} ({delta:+.2f})" for delta, text in r.examples)] for r in rows]
    return tabulate(body, ["queries", "n", f"{a} better", f"… {b}'s #1 unjudged", f"{b} better", "tie",
                           f"mean Δ{label} ({b} − {a})", f"where {a} wins most"],
                    tablefmt="github", disable_numparse=True) + "\n"
