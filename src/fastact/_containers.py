"""The along-axis family on the containers users hold their data in.

The elementwise functions hand such inputs to their NumPy ufuncs
(fastact.ufunc), which pandas, xarray and Dask handle through
``__array_ufunc__``.  The along-axis functions (softmax, log_softmax,
softmin, logsumexp, the GLU family, and their backward) need the axis, so
they are mapped here:

* xarray ``DataArray``: ``axis`` may be a dimension name (or an int);
  ``xarray.apply_ufunc`` runs the NumPy function with that dimension last,
  keeping dims, coordinates and attributes (a GLU result drops the split
  dimension's coordinate: its length halves);
* pandas ``Series`` / ``DataFrame``: the result keeps the index and columns
  (logsumexp: a Series over the axis that remains; the GLU family: the
  labels of the first half on the split axis);
* Dask arrays: ``fastact.dask`` (lazy; exact two-stage reductions when the
  axis is split across chunks).

Anything else that defines ``__array_ufunc__`` is read with
``numpy.asarray``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_container", "call"]


def is_container(*objs) -> bool:
    return any(o is not None and not isinstance(o, np.ndarray)
               and getattr(type(o), "__array_ufunc__", None) is not None for o in objs)


def _kind_of(fname: str) -> str:
    base = fname.removesuffix("_backward")
    if base == "logsumexp":
        return "reduce_backward" if fname.endswith("_backward") else "reduce"
    if base in ("glu", "swiglu", "geglu"):
        return "half_backward" if fname.endswith("_backward") else "half"
    return "same"


def _module_of(o) -> str:
    return type(o).__module__.split(".")[0]


def call(fname: str, fn, arrays: tuple, axis, kw: dict):
    """fn(*arrays, axis=..., **kw) for container inputs; `arrays` in the
    function's order (grad_output first for a backward; None entries are
    left out and passed by keyword in kw)."""
    lead = next(a for a in arrays if is_container(a))
    mod = _module_of(lead)
    if mod == "xarray":
        return _xarray(fname, fn, arrays, axis, kw)
    if mod == "dask":
        from fastact import dask as fdask
        return getattr(fdask, fname)(*arrays, axis=axis, **kw)
    if mod == "pandas":
        return _pandas(fname, fn, arrays, axis, kw)
    return fn(*[None if a is None else np.asarray(a) for a in arrays], axis=axis, **kw)


def _xarray(fname, fn, arrays, axis, kw):
    import xarray as xr

    kind = _kind_of(fname)
    lead = next(a for a in (*arrays, kw.get("y")) if isinstance(a, xr.DataArray))
    if fname.endswith("_backward") and isinstance(arrays[1], xr.DataArray):
        lead = arrays[1]                     # x: every dim of the problem
    dim = lead.dims[axis] if isinstance(axis, (int, np.integer)) else axis
    if dim not in lead.dims:
        raise ValueError(f"{fname}(): axis={axis!r} is not a dimension of the DataArray "
                         f"(dims {lead.dims}); pass a dimension name or an int")
    ins = [a for a in arrays if a is not None]
    kwy = {k: v for k, v in kw.items() if v is not None and k == "y"}
    rest = {k: v for k, v in kw.items() if k != "y"}
    if kwy:
        ins.append(kwy["y"])
    core_in = []
    for a in ins:
        has = isinstance(a, xr.DataArray) and dim in a.dims
        core_in.append([dim] if has else [])
    out_core = [[]] if kind == "reduce" else [[dim]]
    exclude = {dim} if kind in ("half", "half_backward") else set()

    def inner(*vals):
        vals = list(vals)
        y = vals.pop() if kwy else None
        extra = {"y": y} if kwy else {}
        if kind == "reduce_backward":
            # grad_output has no core dim: its axis is the one removed
            return fn(vals[0], vals[1], axis=-1, **rest)
        return fn(*vals, axis=-1, **extra, **rest)

    r = xr.apply_ufunc(inner, *ins, input_core_dims=core_in, output_core_dims=out_core,
                       exclude_dims=exclude, keep_attrs=True, dask="allowed")
    if kind != "reduce":
        r = r.transpose(*lead.dims)          # the core dim back in its place
    return r


def _pandas(fname, fn, arrays, axis, kw):
    import pandas as pd

    pdtypes = (pd.Series, pd.DataFrame)
    vals = [None if a is None else np.asarray(a) for a in arrays]
    kwv = {k: (np.asarray(v) if isinstance(v, pdtypes) else v) for k, v in kw.items()}
    r = fn(*vals, axis=axis, **kwv)
    kind = _kind_of(fname)
    if kind in ("reduce_backward", "half_backward"):
        lead = arrays[1]                     # the result has x's shape
    else:
        lead = next((a for a in (*arrays, kw.get("y")) if isinstance(a, pdtypes)), None)
    if not isinstance(lead, pdtypes):
        return r
    if isinstance(lead, pd.Series):
        if kind == "reduce":
            return r
        return pd.Series(r, index=lead.index[: r.shape[0]], name=lead.name)
    ax = int(axis) % 2
    if kind == "reduce":
        return pd.Series(r, index=lead.columns if ax == 0 else lead.index)
    return pd.DataFrame(r, index=lead.index[: r.shape[0]], columns=lead.columns[: r.shape[1]])
