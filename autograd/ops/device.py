"""Moving data between devices (and array libraries) as a recorded op: the gradient moves back."""

from __future__ import annotations

from .. import backend
from ..node import call
from .registry import Op


class ToDevice(Op):
    """x on another device: `x.to("cuda")`, `x.cpu()`;  d/dx = the gradient moved back to
    x's device (`source`)."""

    name = "to_device"
    ref = staticmethod(lambda x, device, source: x)
    attrs = ({"device": "cpu", "source": "cpu"},)

    @staticmethod
    def forward(x, device, source):
        out = backend.on_device(x, device)
        return out if out is not x else backend.namespace(x).asarray(x, copy=True)

    @staticmethod
    def backward(g, out, needs, x, device, source):
        return (call(ToDevice, g, device=source, source=device),)
