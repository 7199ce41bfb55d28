"""nn.Module: registration, traversal, modes, state dicts, the drawing scope."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(autograd.relu(self.norm(self.fc1(x))))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Block()
        self.heads = nn.ModuleList([nn.Linear(2, 1), nn.Linear(2, 1)])
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))

    def forward(self, x):
        h = self.encoder(x)
        return sum(head(h) for head in self.heads) * self.scale


def test_named_parameters_buffers_and_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "encoder.fc1.weight", "encoder.fc1.bias", "encoder.norm.weight",
                     "encoder.norm.bias", "encoder.fc2.weight", "encoder.fc2.bias",
                     "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "encoder.norm.running_mean", "encoder.norm.running_var", "encoder.norm.num_batches_tracked"]
    assert [n for n, _ in net.named_modules()][:3] == ["", "encoder", "encoder.fc1"]
    assert [type(c).__name__ for c in net.children()] == ["Block", "ModuleList"]
    assert len(list(net.parameters())) == 11


def test_shared_parameter_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, nn.Tanh(), a)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_paths_follow_registration_even_when_built_bottom_up():
    net = Net()
    assert net._path == ""
    assert net.encoder.fc1._path == "encoder.fc1"
    assert net.heads[1]._path == "heads.1"
    nn.Sequential(net)  # registering under a new parent renames the whole subtree
    assert net.encoder.norm._path == "0.encoder.norm"


def test_forward_sets_scope_to_the_running_module_and_restores_it():
    net = Net()
    x = autograd.tensor(np.ones((4, 3), dtype=np.float32))
    y = net(x)
    assert autograd.mode.state.scope is None
    # the output's node is the multiply by `scale`, recorded in the root's forward
    assert y._node.scope is net
    scopes = set()
    stack, seen = [y.grad_fn], set()
    while stack:
        node = stack.pop()
        if not isinstance(node, autograd.node.Node) or id(node) in seen:
            continue
        seen.add(id(node))
        scopes.add(node.scope._path if node.scope is not None else None)
        stack.extend(e for e in node.edges if e is not None)
    assert {"", "encoder", "encoder.fc1", "encoder.norm", "encoder.fc2", "heads.0", "heads.1"} <= scopes


def test_scope_restored_after_an_exception():
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="Linear"):
        lin(autograd.tensor(np.ones((2, 5), dtype=np.float32)))
    assert autograd.mode.state.scope is None


def test_layer_error_names_the_layer_path_and_shapes():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 1))
    with pytest.raises(ValueError, match=r"^2 .*in_features=5.*\(2, 4\).*\(1, 5\)"):
        net(autograd.tensor(np.ones((2, 3), dtype=np.float32)))


def test_train_eval_and_zero_grad():
    net = Net()
    assert net.training and net.encoder.norm.training
    net.eval()
    assert not net.training and not net.encoder.norm.training and not net.heads[0].training
    net.train()
    assert net.encoder.fc1.training
    x = autograd.tensor(np.ones((4, 3), dtype=np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_repr_is_nested_like_pytorch():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Dropout(0.1))))
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.1)\n"
        "  )\n"
        ")"
    )


def test_assigning_a_plain_tensor_over_a_parameter_is_refused():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        lin.weight = autograd.tensor(np.zeros((2, 2)))
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_state_dict_round_trip_includes_buffers():
    autograd.manual_seed(1)
    a, b = Net(), Net()
    a.encoder.norm(autograd.tensor(np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)))
    sd = a.state_dict()
    assert "encoder.norm.running_var" in sd and "encoder.norm.num_batches_tracked" in sd
    missing, unexpected = b.load_state_dict(sd)
    assert missing == [] and unexpected == []
    for (n1, t1), (n2, t2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert n1 == n2
        np.testing.assert_array_equal(t1.data, t2.data)
    assert int(b.encoder.norm.num_batches_tracked.data) == 1


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    net = Net()
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    sd = {k: v.data.copy() + 1 for k, v in Net().state_dict().items()}
    del sd["encoder.fc1.bias"], sd["heads.1.weight"]
    sd["extra.weight"] = np.zeros(3)
    sd["encoder.fc2.weight"] = np.zeros((7, 7))
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    for part in ("'encoder.fc1.bias'", "'heads.1.weight'", "'extra.weight'", "size mismatch for encoder.fc2.weight",
                 "(7, 7)", "(2, 4)"):
        assert part in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    # non-strict: loads what fits, reports the rest, still refuses the wrong shape
    del sd["encoder.fc2.weight"]
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert set(missing) == {"encoder.fc1.bias", "heads.1.weight", "encoder.fc2.weight"}
    assert unexpected == ["extra.weight"]
    np.testing.assert_array_equal(net.scale.data, before["scale"] + 1)


def test_sequential_and_modulelist_indexing():
    seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    assert isinstance(seq[-1], nn.Linear) and len(seq) == 3
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    ml = nn.ModuleList()
    ml.append(nn.ReLU()).extend([nn.Tanh()])
    ml[0] = nn.Sigmoid()
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "Tanh"]
    with pytest.raises(TypeError):
        ml.append(3)


def test_module_without_super_init_gets_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super"):
        Bad()
