"""fastact on pandas, xarray and Dask objects: the type, index,
coordinates and laziness are kept (elementwise through fastact.ufunc, the
along-axis family through fastact._containers)."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa


def test_pandas():
    pd = pytest.importorskip("pandas")
    s = pd.Series([-1.0, 0.0, 1.0], index=list("abc"), name="v")
    r = fa.sigmoid(s)
    assert isinstance(r, pd.Series) and list(r.index) == list("abc") and r.name == "v"
    assert np.array_equal(r.to_numpy(), fa.sigmoid(s.to_numpy()))
    df = pd.DataFrame({"a": [1.0, -2.0], "b": np.float32([3, -4])}, index=["r1", "r2"])
    r = fa.gelu(df, approximate="tanh")
    assert isinstance(r, pd.DataFrame) and list(r.columns) == ["a", "b"]
    assert r.dtypes.tolist() == [np.float64, np.float32]
    assert isinstance(fa.leaky_relu_backward(df, df, negative_slope=0.2), pd.DataFrame)
    sm = fa.softmax(df)
    assert isinstance(sm, pd.DataFrame) and list(sm.index) == ["r1", "r2"]
    assert np.allclose(sm.to_numpy().sum(axis=1), 1)
    lse = fa.logsumexp(df, axis=0)
    assert isinstance(lse, pd.Series) and list(lse.index) == ["a", "b"]
    assert isinstance(fa.log_softmax(s), pd.Series)


def test_xarray_keeps_dims_coords_attrs():
    xr = pytest.importorskip("xarray")
    v = np.random.default_rng(0).standard_normal((3, 4))
    a = xr.DataArray(v, dims=("batch", "feat"), coords={"feat": [1, 2, 3, 4]},
                     attrs={"units": "logit"})
    r = fa.silu(a)
    assert isinstance(r, xr.DataArray) and r.dims == a.dims and r.attrs == a.attrs
    assert list(r.coords["feat"].values) == [1, 2, 3, 4]
    for axis, npaxis in (("feat", 1), ("batch", 0), (-1, 1), (0, 0)):
        s = fa.softmax(a, axis=axis)
        assert s.dims == a.dims and s.attrs == a.attrs
        assert np.array_equal(s.values, fa.softmax(v, axis=npaxis))
    lse = fa.logsumexp(a, axis="feat")
    assert lse.dims == ("batch",) and np.array_equal(lse.values, fa.logsumexp(v))
    y = fa.softmax(a, axis="feat")
    gb = fa.softmax_backward(a, y=y, axis="feat")
    assert gb.dims == a.dims
    assert np.array_equal(gb.values, fa.softmax_backward(v, y=fa.softmax(v)))
    assert fa.logsumexp_backward(lse, a, axis="feat").dims == a.dims
    h = fa.glu(a, axis="feat")
    assert h.dims == a.dims and h.shape == (3, 2)
    assert np.array_equal(h.values, fa.glu(v))
    with pytest.raises(ValueError, match="not a dimension"):
        fa.softmax(a, axis="time")


def test_dask_is_lazy():
    da = pytest.importorskip("dask.array")
    calls = []

    def boom(b):
        if b.size:                           # not dask's zero-size meta probe
            calls.append(1)
            raise AssertionError("computed eagerly")
        return b

    d = da.ones(4_000, chunks=1_000, dtype=np.float32).map_blocks(
        boom, meta=np.empty(0, np.float32))
    r = fa.sigmoid(d)                        # builds a graph, computes nothing
    r2 = fa.leaky_relu_backward(d, d, negative_slope=0.1)
    assert type(r).__module__.startswith("dask") and type(r2).__module__.startswith("dask")
    assert r.dtype == np.float32 and not calls
    x = da.from_array(np.linspace(-3, 3, 10_000, dtype=np.float32), chunks=3_000)
    assert np.array_equal(fa.gelu(x).compute(), fa.gelu(x.compute()))


def test_torch_tensor_that_requires_grad_points_to_fastact_torch():
    torch = pytest.importorskip("torch")
    assert isinstance(fa.sigmoid(torch.zeros(3)), np.ndarray)    # read as an array
    with pytest.raises(TypeError, match="fastact.torch.sigmoid"):
        fa.sigmoid(torch.zeros(3, requires_grad=True))
