import os, sys
for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[v] = "1"
sys.path.insert(0, "/work/main/benchmarks")
import numpy as np
from _quality_problems import make_problem
import _quality_methods as qm
name, seed = sys.argv[1], int(sys.argv[2])
method = sys.argv[3] if len(sys.argv) > 3 else "hk-gp"
p = make_problem(name, seed)
run = qm.run_method(method, p, seed, int(sys.argv[4]) if len(sys.argv) > 4 else 100)
X = np.array([[c[d.name] for d in p.dims] for c in run["configs"]])
U = (X + 5) / 10
L = np.array(run["losses"])
best = np.minimum.accumulate(L)
for i in range(10, len(L), 5):
    j = np.argmin(L[:i])
    dist = np.linalg.norm(U[i:i+5] - U[j], axis=1)
    edge = np.mean((U[i:i+5] < 0.01) | (U[i:i+5] > 0.99))
    print(f"{i:3d} best {best[i-1]:9.3f} -> {best[min(i+4, len(L)-1)]:9.3f}  dist-to-best {np.round(dist,2)}  edge-frac {edge:.2f}  vals {np.round(L[i:i+5],1)}")
