import json, sys, numpy as np, collections
B = json.load(open(f"/tmp/dev/{sys.argv[1]}.json")); V = json.load(open(f"/tmp/dev/{sys.argv[2]}.json"))
t = int(sys.argv[3]); filt = sys.argv[4] if len(sys.argv) > 4 else ""
d = collections.defaultdict(list)
for k in V:
    if k in B and filt in k:
        n = lambda r: float(np.clip((min(r["losses"][:t]) - (r["opt"] or 0)) / (r["clip"] - (r["opt"] or 0)), -1, 1))
        d[k.split("|")[0]].append(100 * (n(B[k]) - n(V[k])))
for p, v in d.items(): print(f"{p:22s} {np.mean(v):+7.2f}  {np.round(v,1)}")
