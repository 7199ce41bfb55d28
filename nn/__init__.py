"""graphgrad neural-network layer: modules, layers, losses, optimisers, data loading and checkpoints.

PyTorch's names, so a model reads as it would there:

>>> import autograd, nn
>>> _ = autograd.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
>>> opt = nn.optim.Adam(model.parameters(), lr=1e-2)
>>> x = autograd.tensor([[0.0, 1.0], [1.0, 0.0]]); y = autograd.tensor([[1.0], [0.0]])
>>> loss = nn.functional.mse_loss(model(x), y)
>>> opt.zero_grad(); loss.backward(); opt.step()
"""

from . import data, distributed, functional, init, optim, parallel, utils
from .checkpoint import CheckpointError, load, save
from .layers import (
    GELU,
    BatchNorm1d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    SyncBatchNorm,
    Tanh,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList",
    "Linear", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softplus", "Softmax",
    "LogSoftmax", "Dropout", "BatchNorm1d", "SyncBatchNorm", "LayerNorm", "Flatten", "Embedding",
    "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss",
    "functional", "init", "optim", "utils", "data", "distributed", "parallel", "save", "load", "CheckpointError",
]
