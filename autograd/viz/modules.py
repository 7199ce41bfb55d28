"""The nn modules a graph's ops ran in: cluster keys, their paths and parents, and the names
of parameters known from the modules."""

from __future__ import annotations

from .vertices import Graph

# A cluster's key is its module's dotted path; a second, different module with the same path
# (two separate models in one graph, as in D(G(z)): both have a "0") gets "#2", "#3", ... so
# the two are never drawn as one.
DUP = "#"


def module_path(m) -> str:
    path = getattr(m, "_path", None)
    return path if isinstance(path, str) else type(m).__name__


def key_path(key: str) -> str:
    """The dotted path a cluster key stands for ("0#2" -> "0")."""
    return key.partition(DUP)[0]


def path_depth(key: str) -> int:
    path = key_path(key)
    return 0 if path == "" else path.count(".") + 1


def parent_path(key: str):
    """"a.b" -> "a", "a" -> "" (the root module), "" -> None. A duplicate's parent is not
    known (modules do not point to their parents), so it is drawn at the top level."""
    if key == "" or DUP in key:
        return None
    return key.rpartition(".")[0]


def common_cluster(keys):
    """The innermost module cluster holding all of `keys` ("0.a", "0.b" -> "0"), or None."""
    common, first = None, True
    for key in keys:
        if key is None:
            return None
        if first:
            common, first = key, False
            continue
        while not (key == common or common == "" or key.startswith(common + ".")):
            if DUP in key or DUP in common:
                return None  # another model's modules: no common parent is known
            common = parent_path(common)
    return common


def module_info(graph: Graph, params):
    """`(modules, explicit, derived)`: module objects by cluster key, and names of parameters
    by id (given in `params`, and derived from the modules). Sets each vertex's `cluster`.

    Names come from `params` first (a dict or anything with `named_parameters()`), then from
    the tensors' own `name`, then from the modules whose forward ran (their parameters, with
    the module's path in front). A parameter leaf is drawn in its owning module's cluster.
    """
    keys: dict[int, str] = {}
    modules: dict[str, object] = {}
    count: dict[str, int] = {}

    def key_of(m) -> str:
        key = keys.get(id(m))
        if key is None:
            path = module_path(m)
            n = count[path] = count.get(path, 0) + 1
            key = keys[id(m)] = path if n == 1 else f"{path}{DUP}{n}"
            modules[key] = m
        return key

    explicit: dict[int, str] = {}
    if params is not None:
        if hasattr(params, "named_modules"):
            for _, m in params.named_modules():
                key_of(m)
        items = params.named_parameters() if hasattr(params, "named_parameters") else (
            params.items() if hasattr(params, "items") else params)
        for n, t in items:
            explicit.setdefault(id(t), str(n))
    for v in graph.vertices:
        if v.scope is not None:
            v.cluster = key_of(v.scope)
    derived: dict[int, str] = {}
    owner: dict[int, str] = {}  # parameter -> the module holding it directly ("weight", not "fc1.weight")
    for key, m in modules.items():
        named = getattr(m, "named_parameters", None)
        if named is None:
            continue
        path = module_path(m)
        for n, t in named():
            derived.setdefault(id(t), f"{path}.{n}" if path else n)
            if "." not in n:
                owner[id(t)] = key
    for v in graph.vertices:
        if v.kind in ("leaf", "accumulate") and v.cluster is None:
            v.cluster = owner.get(id(v.obj))
    return modules, explicit, derived

