import functools
import numpy as np


def apply(name):
    from hyperknob.samplers.gp import _acquisition as acq
    from hyperknob.samplers.gp import _sampler as smp
    if name == "base":
        return
    parts = name.split("+")
    for part in parts:
        if part == "new":  # the code's own defaults (the worktree on PYTHONPATH)
            continue
        if part == "r10":  # 10 restarts
            orig = smp.GPSampler.__init__
            def init(self, *a, _o=orig, **k):
                k.setdefault("n_restarts", 10); _o(self, *a, **k)
            smp.GPSampler.__init__ = init
        elif part == "it100":
            orig_local = acq._local_numeric
            acq._local_numeric = functools.partial(_kw, orig_local, max_iterations=100)
        elif part == "near3":  # multi-scale near-incumbent candidates
            def points_near(box, centers, rng, n, scale=0.05, _o=acq.points_near):
                k = n // 3
                return np.vstack([_o(box, centers, rng, k, 0.01), _o(box, centers, rng, k, 0.05),
                                  _o(box, centers, rng, n - 2 * k, 0.2)])
            acq.points_near = points_near
        elif part == "tr":
            smp.GPSampler.__init__ = _tr_init(smp.GPSampler.__init__)
        elif part.startswith("lsstd"):  # same prior mode on log l, another spread
            import math
            from hyperknob.samplers.gp import _gp
            std = float(part[5:])
            def prior(dim, _std=std):
                mu = math.sqrt(2.0) + 0.5 * math.log(dim)
                return mu - 3.0, _std
            _gp.lengthscale_prior = prior
        elif part.startswith("su"):  # start-up trials
            n = int(part[2:])
            orig = smp.GPSampler.__init__
            def init(self, *a, _o=orig, _n=n, **k):
                k.setdefault("n_startup_trials", _n); _o(self, *a, **k)
            smp.GPSampler.__init__ = init
        elif part == "lazy":
            from hyperknob.samplers.gp import _trust_region as tr
            tr.LAZY = True
        elif part.startswith("init"):  # the trust region's initial side length
            from hyperknob.samplers.gp import _trust_region as tr
            tr.LENGTH_INIT = float(part[4:])
        else:
            raise ValueError(part)


def _kw(f, *a, max_iterations=30, **k):
    k["max_iterations"] = max_iterations
    return f(*a, **k)


def _tr_init(orig):
    def init(self, *a, **k):
        k.setdefault("trust_region", True)
        orig(self, *a, **k)
    return init
