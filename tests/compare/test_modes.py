"""staticgraph modes: each way of building the Jacobian gives the true Jacobian with its seeds
fed (not folded into constants), and only the loop of jvps grows with n."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compare import modes


@pytest.mark.parametrize("mode", modes.MODES)
def test_each_mode_gives_the_jacobian_from_fed_seeds(mode):
    n, m = 5, 3
    w = np.random.default_rng(0).normal(size=(m, n)) / np.sqrt(n)
    x = sg.placeholder(sg.float64, (n,), name="x")
    jac, seeds = modes.BUILDERS[mode](lambda v: modes._layer(v, n, m, np.random.default_rng(0)),
                                      x, m if mode == "rev" else n)
    assert all(t.op == "placeholder" for t in seeds)
    exe = sg.compile(jac, feeds=[x, *seeds])
    assert set(t.name for t in seeds) <= set(exe.graph.nx.nodes)  # fed, not folded away
    xv = np.linspace(-1.0, 1.0, n)
    got = exe.run({x: xv, **seeds})
    np.testing.assert_allclose(got, (1 - np.tanh(w @ xv) ** 2)[:, None] * w, rtol=1e-12)


def test_only_the_loop_of_jvps_grows_with_n():
    small = {r.mode: r.nodes for r in (modes.measure("layer", "n>>m", 4, 2, mode, repeats=1)
                                      for mode in modes.MODES)}
    large = {r.mode: r.nodes for r in (modes.measure("layer", "n>>m", 32, 2, mode, repeats=1)
                                      for mode in modes.MODES)}
    assert large["fwd-loop"] > small["fwd-loop"]
    assert large["fwd"] == small["fwd"] and large["rev"] == small["rev"]
