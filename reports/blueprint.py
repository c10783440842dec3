"""The method-comparison table of a blueprint (design brief, "Blueprints"): one column per
(dataset, method, system) result of the blueprint's benchmarks, one row per panel metric (the
mean over the result's runs, and the spread), the time to train beside them, the best value of
each row marked. Built from the rows reports/aggregate.py made of checked results only."""

from __future__ import annotations

from sciperf.vocab import BENCHMARKS, RECONSTRUCTION_ERROR

# Panel keys where lower is better (every disentanglement metric is higher-is-better).
LOWER_IS_BETTER = frozenset({RECONSTRUCTION_ERROR})
TIME = "time_to_train_minutes"


def comparison(rows: list[dict]) -> dict[str, dict]:
    """blueprint -> {"columns": [{benchmark, method, system, submitter, division, time}],
    "metrics": {key: [{"mean", "spread"} or None per column]}, "best": {key: column index}}."""
    by_blueprint: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r["benchmark"], str(r.get("method")),
                                         r["system"].lower(), r["submitter"].lower())):
        bench = BENCHMARKS.get(r["benchmark"])
        if bench and bench.blueprint and r.get("scaling") == "strong" and r.get("panel"):
            by_blueprint.setdefault(bench.blueprint, []).append(r)
    tables = {}
    for bp, results in by_blueprint.items():
        keys = list(dict.fromkeys(k for r in results for k in BENCHMARKS[r["benchmark"]].panel))
        metrics = {k: [r["panel"].get(k) and {"mean": r["panel"][k]["mean"],
                                              "spread": r["panel"][k]["spread"]}
                       for r in results] for k in keys}
        best = {}
        for k, cells in metrics.items():
            means = [(c["mean"], i) for i, c in enumerate(cells) if c]
            if means:
                best[k] = (min if k in LOWER_IS_BETTER else max)(means)[1]
        tables[bp] = {"columns": [{"benchmark": r["benchmark"], "method": r.get("method"),
                                   "system": r["system"], "submitter": r["submitter"],
                                   "division": r["division"], TIME: r.get(TIME)}
                                  for r in results],
                      "metrics": metrics, "best": best}
    return tables


def comparison_md(rows: list[dict]) -> list[str]:
    """The tables as Markdown lines (nothing when no blueprint result is in the report); names
    a submitter controls are escaped as the other tables' are."""
    from reports.render import md_text  # render imports this module

    out: list[str] = []
    for bp, t in comparison(rows).items():
        cols = t["columns"]
        out += [f"## Method comparison: blueprint {bp}", "",
                "Each column a result (dataset, method, system); each row a panel metric of the "
                "final models, mean over the runs ± spread (max - min); **bold** the best of the "
                "row (lowest reconstruction error, highest otherwise).", ""]
        head = ["Metric"] + [md_text(f"{c['benchmark']} · {c['method'] or '?'} · {c['system']}")
                             for c in cols]
        out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        out.append("| time to train (min) | " + " | ".join(
            "—" if c[TIME] is None else f"{c[TIME]:.2f}" for c in cols) + " |")
        for key, cells in t["metrics"].items():
            text = []
            for i, c in enumerate(cells):
                if c is None:
                    text.append("—")
                    continue
                v = f"{c['mean']:.3f} ± {c['spread']:.3f}"
                text.append(f"**{v}**" if t["best"].get(key) == i else v)
            out.append(f"| {key} | " + " | ".join(text) + " |")
        out.append("")
    return out


PANEL_PLOT = "blueprint_panel.png"


def panel_png(rows: list[dict]) -> bytes | None:
    """The panel per method as a PNG (reports/plots.py's style: Agg, no pyplot): one bar group
    per metric, a bar per result (dataset · method · system), the spread as an error bar; one
    figure row per blueprint. None without blueprint results."""
    import io

    import numpy as np
    from matplotlib.figure import Figure

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
                   label=f"{col['benchmark']} · {col['method'] or '?'} · {col['system']}")
        ax.set_xticks(np.arange(len(keys)), [k.replace("_", " ") for k in keys], rotation=30,
                      ha="right", fontsize=8)
        ax.set_ylabel("mean over runs (error bar: spread)")
        ax.set_title(f"blueprint {bp}: the panel per method", fontsize=10)
        ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
