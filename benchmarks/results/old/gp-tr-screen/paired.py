"""Paired comparison of a new hk-auto slice with the stored runs (same problems, same seeds)."""
import json, sys
sys.path.insert(0, "/work/main/benchmarks")
import quality
old = json.load(open(sys.argv[1])); new = json.load(open(sys.argv[2])); tag = sys.argv[3]
runs = list(old["runs"]) + [{**r, "method": f"hk-auto@{tag}"} for r in new["runs"]]
problems = sorted({r["problem"] for r in new["runs"]})
seeds_done = {p: {r["seed"] for r in new["runs"] if r["problem"] == p} for p in problems}
problems = [p for p in problems if len(seeds_done[p]) == max(len(v) for v in seeds_done.values())]
infos = {p: old["problems"][p] for p in problems}
for t in [int(x) for x in sys.argv[4:]]:
    norms = quality.score_table(runs, infos, t)
    out = []
    for m in (f"hk-auto@{tag}", "hk-auto", "optuna-gp", "hk-tpe", "optuna-tpe", "hyperopt-tpe"):
        s = quality.suite_scores(norms, problems, m)
        if s: out.append(f"{m} {s[0]:.2f}±{s[1]:.2f}")
    print(f"{len(problems)} problems, t={t}: " + " | ".join(out))
    for rival in ("hk-auto", "optuna-gp"):
        d = quality.paired_difference(norms, problems, f"hk-auto@{tag}", rival)
        if d: print(f"   new - {rival}: {d[0]:+.2f} ± {d[1]:.2f} ({d[2]} seeds)")
    if len(sys.argv) > 5 and t == int(sys.argv[-1]):
        import statistics as st
        for p in problems:
            row = {m: 100 * (1 - st.fmean(norms[p][m].values())) for m in (f"hk-auto@{tag}", "hk-auto", "optuna-gp") if m in norms[p]}
            print("   ", p, {k: round(v, 1) for k, v in row.items()})
