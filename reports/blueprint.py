"""The method-comparison table of a blueprint (design brief, "Blueprints"): one column per
(dataset, method, system) result of the blueprint's benchmarks, one row per panel metric (the
mean over the result's runs, and the spread), the time to train beside them, the best value of
each row marked. Built from the rows reports/aggregate.py made of checked results only.

It is the one place a blueprint's panel is tabulated, whether the panel is scored once on the
final model (disentangle) or at every evaluation (rotation: its last value in the run): the
design brief gives every blueprint this table, and a second, per-division table of the same
means would split the closed reference from the open methods it is compared with.

results.md shows it as the blueprint's paper does (a column per result); results.json places
each result in it (the row's `comparison` field, `placed`); index.html turns it (a row per
result, reports/templates/index.html.j2) so that sorting by a metric ranks the results.
"""

from __future__ import annotations

from sciperf.vocab import BENCHMARKS, RECONSTRUCTION_ERROR

# Panel keys where lower is better (every disentanglement metric is higher-is-better).
LOWER_IS_BETTER = frozenset({RECONSTRUCTION_ERROR})
TIME = "time_to_train_minutes"
PANEL_PLOT = "blueprint_panel.png"
CELL_FORMAT = "{:.3f}"  # a panel metric's mean and spread


def column_label(row: dict) -> str:
    """A result as the table's column header and the plot's legend name it."""
    from reports.render import benchmark_label  # render imports this module

    return f"{benchmark_label(row)} · {row.get('method') or '?'} · {row['system']}"


def comparison(rows: list[dict]) -> dict[str, dict]:
    """blueprint -> {"columns": [{label, benchmark, data_scale, method, system, submitter,
    division, time_to_train_minutes, row}], "metrics": {key: [{"mean", "spread"} or None per
    column]}, "best": {key: [indices of the columns holding the best mean]}}, for every
    strong-scaling result with a panel of a blueprint benchmark; `row` is the result's row."""
    from reports.render import benchmark_label

    by_blueprint: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (benchmark_label(r), str(r.get("method")),
                                         r["system"].lower(), r["submitter"].lower(),
                                         r["division"])):
        bench = BENCHMARKS.get(r["benchmark"])
        if bench and bench.blueprint and r.get("scaling") == "strong" and r.get("panel"):
            by_blueprint.setdefault(bench.blueprint, []).append(r)
    tables = {}
    for bp, results in sorted(by_blueprint.items()):
        keys = list(dict.fromkeys(k for r in results for k in BENCHMARKS[r["benchmark"]].panel))
        metrics = {k: [r["panel"].get(k) and {"mean": r["panel"][k]["mean"],
                                              "spread": r["panel"][k]["spread"]}
                       for r in results] for k in keys}
        best = {}
        for k, cells in metrics.items():
            means = [c["mean"] for c in cells if c]
            if means:
                top = (min if k in LOWER_IS_BETTER else max)(means)
                best[k] = [i for i, c in enumerate(cells) if c and c["mean"] == top]  # ties too
        tables[bp] = {"columns": [{"label": column_label(r), "benchmark": r["benchmark"],
                                   "data_scale": r.get("data_scale"), "method": r.get("method"),
                                   "system": r["system"], "submitter": r["submitter"],
                                   "division": r["division"], TIME: r.get(TIME), "row": r}
                                  for r in results],
                      "metrics": metrics, "best": best}
    return tables


def placed(rows: list[dict]) -> list[dict]:
    """The rows with their `comparison` field filled (reports/schema.py): for a result in a
    blueprint's table, the blueprint, its column (0-based, the table's order), the column's
    label and the panel keys whose best value it holds; None for the others. Copies: the rows
    given are left as they are."""
    out = [dict(r, comparison=None) for r in rows]
    copy_of = {id(r): c for r, c in zip(rows, out)}
    for bp, t in comparison(rows).items():
        for i, col in enumerate(t["columns"]):
            copy_of[id(col["row"])]["comparison"] = {
                "blueprint": bp, "column": i, "label": col["label"],
                "best": [k for k, where in t["best"].items() if i in where]}
    return out


def best_text(key: str, count: int) -> str:
    """What a marked cell says (its title on the page): why it is marked."""
    way = "lowest" if key in LOWER_IS_BETTER else "highest"
    return f"best {key} of the {count} result(s): the {way} mean"


def comparison_md(rows: list[dict]) -> list[str]:
    """The tables as Markdown lines (nothing when no blueprint result is in the report); names
    a submitter controls are escaped as the other tables' are."""
    from reports.render import md_text  # render imports this module

    out: list[str] = []
    for bp, t in comparison(rows).items():
        cols = t["columns"]
        out += [f"## Method comparison: blueprint {bp}", "",
                "Each column a result (dataset, method, system); each row a panel metric of the "
                "final models (of a panel logged at every evaluation, its last value in the run), "
                "mean over the runs ± spread (max - min); **bold** the best of the row (lowest "
                "reconstruction error, highest otherwise).", ""]
        head = ["Metric"] + [md_text(c["label"]) for c in cols]
        out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        out.append("| time to train (min) | " + " | ".join(
            "—" if c[TIME] is None else f"{c[TIME]:.2f}" for c in cols) + " |")
        for key, cells in t["metrics"].items():
            text = []
            for i, c in enumerate(cells):
                if c is None:
                    text.append("—")
                    continue
                v = f"{CELL_FORMAT.format(c['mean'])} ± {CELL_FORMAT.format(c['spread'])}"
                text.append(f"**{v}**" if i in t["best"].get(key, ()) else v)
            out.append(f"| {key} | " + " | ".join(text) + " |")
        out.append("")
    return out


def panel_png(rows: list[dict]) -> bytes | None:
    """The panel per method as a PNG (reports/plots.py's style: Agg, no pyplot): one bar group
    per metric, a bar per result (dataset · method · system), the spread as an error bar; one
    figure row per blueprint. None without blueprint results."""
    import io

    import numpy as np
    from matplotlib.figure import Figure

    from compliance.parser import printable

    tables = comparison(rows)
    if not tables:
        return None
    fig = Figure(figsize=(9.0, 3.6 * len(tables)), layout="constrained")
    for ax, (bp, t) in zip(fig.subplots(len(tables), 1, squeeze=False)[:, 0], tables.items()):
        keys = [k for k, cells in t["metrics"].items() if any(cells)]
        width = 0.8 / max(1, len(t["columns"]))
        for i, col in enumerate(t["columns"]):
            cells = [t["metrics"][k][i] for k in keys]
            ax.bar(np.arange(len(keys)) + (i - (len(t["columns"]) - 1) / 2) * width,
                   [c["mean"] if c else 0.0 for c in cells], width,
                   yerr=[c["spread"] / 2 if c else 0.0 for c in cells], capsize=2,
                   # submitters' text drawn as text: no control characters, $ not mathtext
                   label=printable(col["label"]).replace("$", r"\$"))
        ax.set_xticks(np.arange(len(keys)), [k.replace("_", " ") for k in keys], rotation=30,
                      ha="right", fontsize=8)
        ax.set_ylabel("mean over runs (error bar: spread)")
        ax.set_title(f"blueprint {bp}: the panel per method", fontsize=10)
        ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
