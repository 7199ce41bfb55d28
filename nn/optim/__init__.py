"""Optimizers and learning-rate schedules (PyTorch's names, formulas and defaults)."""

from . import lr_scheduler
from .optimizer import Optimizer
from .optimizers import SGD, Adam, AdamW, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
