import json, sys, math, statistics as st
import numpy as np
base = sys.argv[1]
def load(v): return json.loads(open(f"/tmp/dev/{v}.json").read())
B = load(base)
def norm(r, t):
    best = min(r["losses"][:t]); opt = r["opt"] if r["opt"] is not None else 0.0
    return float(np.clip((best - opt) / (r["clip"] - opt), -1, 1))
for v in sys.argv[2:]:
    V = load(v)
    keys = [k for k in V if k in B]
    for suite, pred, ts in (("d5", lambda k: k.split("|")[0].endswith("-5d"), (25, 100)),
                            ("d10", lambda k: k.split("|")[0].endswith("-10d"), (25, 100)),
                            ("a", lambda k: not k.startswith("bbob"), (16, 64))):
        ks = [k for k in keys if pred(k)]
        if not ks: continue
        for t in ts:
            seeds = sorted({k.split("|")[1] for k in ks})
            per_seed = [100 * st.fmean(norm(B[k], t) - norm(V[k], t) for k in ks if k.split("|")[1] == s) for s in seeds]
            d = st.fmean(per_seed); se = st.stdev(per_seed) / math.sqrt(len(per_seed)) if len(per_seed) > 1 else float("nan")
            sb = 100 * (1 - st.fmean(norm(B[k], t) for k in ks)); sv = 100 * (1 - st.fmean(norm(V[k], t) for k in ks))
            lr = st.fmean(math.log10(max(min(V[k]["losses"][:t]) - (V[k]["opt"] or 0), 1e-8)) - math.log10(max(min(B[k]["losses"][:t]) - (B[k]["opt"] or 0), 1e-8)) for k in ks)
            wins = sum(norm(V[k], t) < norm(B[k], t) - 1e-9 for k in ks); losses = sum(norm(V[k], t) > norm(B[k], t) + 1e-9 for k in ks)
            print(f"{v:24s} {suite:4s} t={t:3d} n={len(ks):3d} base {sb:6.2f} var {sv:6.2f} diff {d:+6.2f} ± {se:4.2f}  dlog10 {lr:+.3f}  W/L {wins}/{losses}  time {st.fmean(V[k]['s'] for k in ks)/st.fmean(B[k]['s'] for k in ks):.2f}x")
