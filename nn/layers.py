"""Layers: Linear, activations, Dropout, BatchNorm1d, SyncBatchNorm, LayerNorm, Flatten, Embedding."""

from __future__ import annotations

import math

import numpy as np

import autograd
from autograd import backend, get_default_dtype

from . import distributed as dist
from . import functional as F
from . import init
from .module import Module, Parameter


def _empty(*shape, dtype=None) -> Parameter:
    return Parameter(np.zeros(shape, dtype=dtype or get_default_dtype()))


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features), PyTorch's default init
    (weight and bias U(-1/√in, 1/√in)).

    >>> import autograd, nn
    >>> nn.Linear(3, 2)(autograd.tensor([[1.0, 2.0, 3.0]])).shape
    (1, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        if bias:
            self.bias = _empty(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # = U(-1/√in, 1/√in)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        try:
            return F.linear(x, self.weight, self.bias)
        except ValueError as e:
            raise ValueError(f"{self._path or 'Linear'} ({self.extra_repr()}): {e}") from None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class ReLU(Module):
    def forward(self, x):
        return autograd.relu(x)


class Tanh(Module):
    def forward(self, x):
        return autograd.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return autograd.sigmoid(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return autograd.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return autograd.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        return autograd.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return autograd.softmax(x, axis=self.dim)


class LogSoftmax(Softmax):
    def forward(self, x):
        return autograd.log_softmax(x, axis=self.dim)


class Dropout(Module):
    """Zero elements with probability p in training (scaling the rest by 1/(1-p))."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1]; got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) inputs, as torch.nn.BatchNorm1d:
    batch statistics (biased variance) in training, running ones in eval; the running
    variance is updated with the unbiased estimate, with `momentum`."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = dtype or get_default_dtype()
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            self.bias = Parameter(np.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        shape = x.shape
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(
                f"{self._path or 'BatchNorm1d'}: expected input (N, {self.num_features}) or "
                f"(N, {self.num_features}, L); got shape {shape}"
            )
        use_batch = self.training or self.running_mean is None
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            autograd.increment_version(self.num_batches_tracked)
        try:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, use_batch,
                self.momentum, self.eps,
            )
        except ValueError as e:
            if self.training and self.track_running_stats:
                self.num_batches_tracked.data -= 1  # nothing changes when it fails
                autograd.increment_version(self.num_batches_tracked)
            raise ValueError(f"{self._path or 'BatchNorm1d'}: {e}") from None

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class SyncBatchNorm(BatchNorm1d):
    """BatchNorm1d whose training statistics are those of the global batch, all ranks' samples
    together (torch.nn.SyncBatchNorm): the per-channel sums of x and x² (in float64) and the
    sample count are all-reduced in forward, their gradients in backward (one small message
    each way), so world size N with batch B/N per rank normalises as one process with batch B.
    Every rank must call it in training, even with an empty batch. Alone, or in eval mode,
    it is BatchNorm1d. `convert_sync_batchnorm(model)` swaps it in for every BatchNorm1d.

    >>> import nn
    >>> nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)))[1]
    SyncBatchNorm(3, eps=1e-05, momentum=0.1, affine=True)
    """

    def forward(self, x):
        if not self.training or dist.get_world_size() == 1:
            return super().forward(x)
        shape, c = x.shape, self.num_features
        if len(shape) not in (2, 3) or shape[1] != c:
            raise ValueError(
                f"{self._path or 'SyncBatchNorm'}: expected input (N, {c}) or (N, {c}, L); got shape {shape}"
            )
        axes = (0,) if len(shape) == 2 else (0, 2)
        cs = (1, c) if len(shape) == 2 else (1, c, 1)
        # one message: per-channel Σx and Σx² in float64 (so E[x²] - mean² keeps float32's
        # precision even where |mean| >> std), and the sample count
        x64 = autograd.astype(x, np.float64)
        xp = backend.namespace(x.data)
        count = autograd.tensor(xp.asarray([x.size // c], dtype=backend.dtype_in(xp, np.float64), device=x.data.device))
        local = autograd.cat([autograd.sum(x64, axis=axes), autograd.sum(x64 * x64, axis=axes), count])
        sums = dist.all_reduce_sum(local)
        n = float(sums.data[2 * c])
        if n <= 1:
            raise ValueError(
                f"{self._path or 'SyncBatchNorm'}: expected more than 1 value per channel over all ranks "
                f"when training; got {n:g} (input of shape {shape} on rank {dist.get_rank()})"
            )
        mean64 = sums[:c] / n
        var64 = sums[c : 2 * c] / n - mean64 * mean64
        mean, var = autograd.astype(mean64, x.dtype), autograd.astype(var64, x.dtype)
        xhat = (x - mean.reshape(cs)) / autograd.sqrt(var.reshape(cs) + self.eps)
        if self.track_running_stats:
            m, rm, rv = self.momentum, self.running_mean.data, self.running_var.data
            rm *= 1 - m
            rm += m * xp.astype(mean.data, rm.dtype, copy=False)
            rv *= 1 - m
            rv += m * xp.astype(var.data, rv.dtype, copy=False) * (n / (n - 1))
            self.num_batches_tracked.data += 1
            autograd.increment_version(self.running_mean, self.running_var, self.num_batches_tracked)
        if self.weight is not None:
            xhat = xhat * self.weight.reshape(cs)
        if self.bias is not None:
            xhat = xhat + self.bias.reshape(cs)
        return xhat

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """`module` with every BatchNorm1d in it replaced by a SyncBatchNorm that shares its
        parameters and buffers (the same objects: an optimizer made before still holds them).
        `process_group` is accepted for PyTorch's signature; MPI's COMM_WORLD is used."""

        def convert(m):
            if not isinstance(m, BatchNorm1d) or isinstance(m, SyncBatchNorm):
                return m
            new = cls.__new__(cls)
            Module.__init__(new)
            for k in ("num_features", "eps", "momentum", "affine", "track_running_stats"):
                setattr(new, k, getattr(m, k))
            new.register_parameter("weight", m.weight)
            new.register_parameter("bias", m.bias)
            for name, b in m._buffers.items():
                new.register_buffer(name, b, persistent=name not in m._non_persistent)
            if not m.track_running_stats:
                new.running_mean = new.running_var = None
            new.train(m.training)
            return new

        done: dict = {}  # a BatchNorm1d used in two places becomes one SyncBatchNorm

        def swap(m):
            if id(m) not in done:
                done[id(m)] = convert(m)
            return done[id(m)]

        root = swap(module)
        for parent in list(root.modules()):
            for name, child in list(parent._modules.items()):
                if child is not None and swap(child) is not child:
                    parent.add_module(name, swap(child))
        return root


class LayerNorm(Module):
    """Normalise over the trailing `normalized_shape` axes, with a learned scale and shift."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        dt = dtype or get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        try:
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        except ValueError as e:
            raise ValueError(f"{self._path or 'LayerNorm'}: {e}") from None

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


class Flatten(Module):
    """Merge axes start_dim..end_dim (by default all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return autograd.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Embedding(Module):
    """A lookup table: integer indices -> rows of a (num_embeddings, embedding_dim) weight,
    initialised N(0, 1) as in PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.weight = _empty(num_embeddings, embedding_dim, dtype=dtype)
        init.normal_(self.weight)

    def forward(self, indices):
        try:
            return F.embedding(indices, self.weight)
        except (IndexError, TypeError) as e:
            raise type(e)(f"{self._path or 'Embedding'}: {e}") from None

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
