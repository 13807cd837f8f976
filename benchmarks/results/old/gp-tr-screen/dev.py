"""Screen GP variants on a dev set: suite d (dims 5, 10; 100 trials; seeds 0-2) + suite a."""
import os, sys, json, time, importlib
for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
sys.path.insert(0, "/work/main/benchmarks")
import numpy as np
from _quality_problems import make_problem, all_problem_names
import _quality_methods as qm

variant = sys.argv[1]
out = f"/tmp/dev/{variant}.json"
problems = [p for p in all_problem_names("d") if p.endswith(("-5d", "-10d"))]
jobs = [(p, s, 100) for s in (0, 1, 2) for p in problems]
jobs += [(p, s, 64) for s in range(5) for p in all_problem_names("a")]
import variants
variants.apply(variant)
data = json.loads(open(out).read()) if os.path.exists(out) else {}
for p, s, n in jobs:
    key = f"{p}|{s}"
    if key in data:
        continue
    prob = make_problem(p, s)
    t = time.time()
    run = qm.run_method("hk-gp", prob, s, n)
    data[key] = {"losses": run["losses"], "clip": prob.clip_uniform, "opt": prob.known_optimum, "s": time.time() - t}
    open(out, "w").write(json.dumps(data))
    print(key, round(min(run["losses"]), 4), round(time.time() - t, 1), flush=True)
