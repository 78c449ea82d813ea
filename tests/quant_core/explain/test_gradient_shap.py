"""Gradient SHAP on tiny torch networks defined here (the generic module + builder interface)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from quant_core.explain import expected_gradients, gradient_shap


def mlp(seed=0, n_in=5):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


class TinyLSTM(torch.nn.Module):
    def __init__(self, n_features=3, hidden=6):
        super().__init__()
        torch.manual_seed(1)
        self.lstm = torch.nn.LSTM(n_features, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(-1)  # shape (n,): the wrapper handles it


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 5)).astype(np.float32), rng.standard_normal((80, 5)).astype(
        np.float32
    )


@pytest.mark.parametrize("engine", ["torch", "shap"])
def test_linear_model_with_one_reference_is_exact(engine):
    """f(x) = w.x + c has a constant gradient, so phi_j = w_j (x_j - b_j) exactly."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 1)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 4)).astype(np.float32)
    ref = rng.standard_normal((1, 4)).astype(np.float32)
    sv = gradient_shap(lin, X, ref, n_samples=7, engine=engine)
    w = lin.weight.detach().numpy().ravel()
    np.testing.assert_allclose(sv[:, :4], w * (X - ref), atol=1e-5)
    base = float(lin(torch.as_tensor(ref)).item())
    np.testing.assert_allclose(sv[:, 4], base, atol=1e-6)
    np.testing.assert_allclose(
        sv.sum(axis=1), lin(torch.as_tensor(X)).detach().numpy().ravel(), atol=1e-5
    )


def test_mlp_attributions_sum_to_prediction_within_monte_carlo_tolerance(data):
    X, bg = data
    net = mlp()
    sv = gradient_shap(net, X, bg, n_samples=3000, seed=0)
    pred = net(torch.as_tensor(X)).detach().numpy().ravel()
    base = net(torch.as_tensor(bg)).detach().numpy().mean()
    assert sv.shape == (30, 6)
    np.testing.assert_allclose(sv[:, -1], base, atol=1e-6)
    err = np.abs(sv.sum(axis=1) - pred)
    spread = np.abs(pred - base).mean()
    # The identity holds in expectation only. With 3000 draws the worst of the 30 rows misses
    # by 7% of the typical |f(x) - E f(b)| (the Monte Carlo error); allow 15%.
    assert err.max() < 0.15 * spread, (err.max(), spread)
    # more draws, smaller error: the approximation converges
    few = np.abs(gradient_shap(net, X, bg, n_samples=30, seed=0).sum(axis=1) - pred)
    assert err.mean() < few.mean()


def test_torch_engine_agrees_with_shap_gradient_explainer(data):
    X, bg = data
    net = mlp(seed=2)
    mine = gradient_shap(net, X[:6], bg, n_samples=1000, seed=1)
    state = np.random.get_state()
    theirs = gradient_shap(net, X[:6], bg, n_samples=1000, seed=1, engine="shap")
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG untouched
    scale = np.abs(theirs[:, :-1]).mean()
    # same estimator, independent random draws: differences are Monte Carlo noise (6% of the
    # mean |attribution| here; allow 15%)
    assert np.abs(mine[:, :-1] - theirs[:, :-1]).mean() < 0.15 * scale
    np.testing.assert_allclose(mine[:, -1], theirs[:, -1], atol=1e-6)


def test_sequence_model_via_input_builder_sums_over_time():
    rng = np.random.default_rng(3)
    n, T, F = 8, 5, 3
    flat = rng.standard_normal((n, T * F)).astype(np.float32)
    bg = rng.standard_normal((40, T * F)).astype(np.float32)

    def build(rows):  # the family's own tensor builder: (n, T*F) table -> (n, T, F)
        return torch.as_tensor(rows).reshape(-1, T, F)

    net = TinyLSTM(F)
    net.train()
    sv = gradient_shap(net, flat, bg, input_builder=build, n_samples=1500, seed=0)
    assert sv.shape == (n, F + 1) and net.training  # mode restored
    net.eval()
    # the per-feature values are the raw (n, T, F) attributions summed over time steps
    raw = expected_gradients(net, build(flat), build(bg), n_samples=1500, seed=0)
    assert raw.shape == (n, T, F)
    np.testing.assert_allclose(sv[:, :F], raw.sum(axis=1), rtol=1e-6, atol=1e-9)
    with torch.no_grad():
        pred = net(build(flat)).numpy()
        base = net(build(bg)).numpy().mean()
    assert np.abs(sv.sum(axis=1) - pred).max() < 0.15 * np.abs(pred - base).mean()


def test_reproducible_and_global_torch_rng_untouched(data):
    X, bg = data
    net = mlp()
    before = torch.random.get_rng_state()
    a = gradient_shap(net, X, bg, n_samples=50, seed=7)
    assert torch.equal(before, torch.random.get_rng_state())
    np.testing.assert_array_equal(a, gradient_shap(net, X, bg, n_samples=50, seed=7))
    assert not np.array_equal(a, gradient_shap(net, X, bg, n_samples=50, seed=8))


def test_polars_frame_input_and_errors(data):
    import polars as pl

    X, bg = data
    cols = [f"f{i}" for i in range(5)]
    frame = pl.DataFrame(X, schema=cols).with_columns(pl.lit("x").alias("asset"))
    net = mlp()
    np.testing.assert_allclose(
        gradient_shap(net, frame, bg, features=cols, n_samples=20),
        gradient_shap(net, X, bg, n_samples=20),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="features must be given"):
        gradient_shap(net, frame, bg)
    with pytest.raises(ValueError, match="engine must be one of"):
        gradient_shap(net, X, bg, engine="deep")
    two = torch.nn.Linear(5, 2)
    with pytest.raises(ValueError, match="output_index"):
        gradient_shap(two, X, bg)
    sv = gradient_shap(two, X, bg[:1], output_index=1, n_samples=3)
    w = two.weight.detach().numpy()[1]
    np.testing.assert_allclose(sv[:, :5], w * (X - bg[:1]), atol=1e-5)
    with pytest.raises(ValueError, match="differ"):
        expected_gradients(net, torch.zeros(2, 5), torch.zeros(2, 4))
