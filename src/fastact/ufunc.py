"""fastact's elementwise activations as real NumPy ufuncs.

    import fastact.ufunc as fu
    fu.sigmoid(x)                     # broadcasting, out=, where=, dtype=, casting=
    fu.leaky_relu(x, 0.2)             # float parameters are inputs (broadcast)
    fu.gelu_tanh(x)                   # a choice parameter picks the ufunc
    fu.sigmoid_backward(g, x); fu.sigmoid_backward_y(g, y)

One ufunc per elementwise function and kernel variant (``NAME``,
``NAME_<choice>`` for the other values of a choice parameter such as
``gelu_tanh``), its backward (``NAME_backward``: grad_output, x, parameters)
and, where the gradient is a function of the output, ``NAME_backward_y``.
Loops for float32 and float64; NumPy casts other inputs (float16 to float32,
integers and bool to float64).  Parameters are passed as inputs; their
defaults are those of the ``fastact`` functions (the docstrings name them).
The softmax family and logsumexp are generalized ufuncs: ``softmax``,
``log_softmax``, ``softmin`` ``(n)->(n)``, ``logsumexp`` ``(n)->()``, their
backward ``NAME_backward`` (grad_output, x) and ``NAME_backward_y``
(grad_output, y) ``(n),(n)->(n)``, ``logsumexp_backward`` ``(),(n)->(n)``;
``axis=`` picks the core axis (the last by default).
A ufunc computes the formula as given: the functions' parameter checks
(``alpha != 0``, ...) are not made here.  pandas, xarray and Dask objects
handled by ``__array_ufunc__`` keep their type (the ``fastact`` functions
hand such inputs to these ufuncs).
"""

from __future__ import annotations

from fastact import _axis, _elementwise

UFUNCS = {**_elementwise._make_ufuncs(), **_axis._make_gufuncs()}
globals().update(UFUNCS)

__all__ = sorted(UFUNCS)


def __dir__():
    return list(__all__)
