"""fuse_elementwise: regions of elementwise ops become single `fused` nodes, each one kernel.

Before: a compiled graph, ideally specialised (fusion needs known shapes). After: each maximal
region of float elementwise ops of one shape and dtype (the ops of `SCALAR_FORMS`, power and
casts from bool or the other float dtype among them; their inputs may broadcast), with the
comparisons that only its `where` and `cast` members read, possibly ending in sums over any
axes, with at least `min_members` ops, is one `fused` node holding the sub-graph it replaces
(see `staticgraph.ops.fused`). Its outputs (members read
outside the region or fetched) keep their names: the fused node takes the name of a single
output; several outputs are `fused_output` views of one flat value, under the names of the
nodes they replace. Small (0-d) constants read only inside a region move into it.

Regions grow in a topological order, forward and backward ops alike: a node joins the region
of one of its inputs when no other input depends on that region, so no path leaves a region
and comes back (the graph of regions stays acyclic, and each region runs as one step). Nodes
with control or ref edges, stateful ones and other dtypes stay outside. So that a fused step
holds no more than the ops it replaces would, a member whose value would wait, stored, for work
that waits on its region (a gradient's factor such as 1 - tanh^2, grown into the forward's
region) is left to regions of its own kind, and a sum of a value that leaves its region anyway
is left out (packed together, the two would keep the large one from being written in place).
`fused` nodes are not "elementwise", so the pass leaves a fused graph as it is.
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from staticgraph.compiler.rewrite import CONSTANT, FEEDS, FETCHES, fetches_of, ordered_nodes
from staticgraph.graph import Graph
from staticgraph.ops.fused import COMPARISONS, REDUCTIONS, SCALAR_FORMS, Region
from staticgraph.ops.shapes import known

MIN_MEMBERS = 8     # fewer ops gain less than a kernel's extra call costs, on small values
MIN_ELEMENTS = 1 << 16  # ... but on values this large, two ops already save a pass over memory
MAX_MEMBERS = 1024  # bounds a generated kernel's size (and its compile time)
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_OTHER_DTYPES = _DTYPES + (np.dtype(bool),)  # of where's condition, of cast's input
_BOOL_READERS = ("where", "cast")  # the members that may read a comparison


def fuse_elementwise(graph: Graph, min_members: int | None = None,
                     max_members: int | None = None, min_elements: int | None = None) -> Graph:
    """A new graph in which regions of elementwise ops are `fused` nodes (the input itself,
    unchanged, when there is none): regions of `min_members` ops or more, or of two ops or
    more on values of `min_elements` elements or more (None: MIN_MEMBERS, MAX_MEMBERS and
    MIN_ELEMENTS, read at each call).

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import fuse_elementwise, prune
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float32, (8,), name="x")
        ...     y = sg.sum(sg.tanh(x) * 2.0 + x, name="y")
        >>> fused = fuse_elementwise(prune(g, ["y"], ["x"]), min_members=2)
        >>> sorted(fused.nx), fused.node("y")["op"]
        (['x', 'y'], 'fused')
        >>> fused.node("y")["attrs"]["region"].members
        ('tanh', 'multiply', 'add', 'y')
    """
    min_members = MIN_MEMBERS if min_members is None else min_members
    min_elements = MIN_ELEMENTS if min_elements is None else min_elements
    view = _View(graph)
    groups = [g for g in find_regions(graph, max_members or MAX_MEMBERS, view)
              if len(g) >= min_members
              or len(g) >= 2 and math.prod(graph.nx.nodes[g[0]]["shape"]) >= min_elements]
    while groups:  # regions that close a cycle between them stay unfused
        region_of = {m: k for k, group in enumerate(groups) for m in group}
        order, stuck = _contracted_order(view, region_of)
        if not stuck:
            return _contract(graph, view, groups, region_of, order)
        groups = [g for k, g in enumerate(groups) if k not in stuck]
    return graph


class _View:
    """What the pass reads of a graph, read once: its order, each node's attributes, data
    inputs, consumers and successors, the nodes with control or ref edges, and the fetches."""

    def __init__(self, graph: Graph) -> None:
        self.order = ordered_nodes(graph)
        self.nodes = graph.nx._node  # name -> attributes, read directly: networkx's view is slow
        self.consumers: dict[str, list] = {}
        self.successors: dict[str, list] = {}  # every edge's head, once per edge
        self.special: set = set()  # the ends of control and ref edges
        reads: dict[str, list] = {name: [] for name in self.order}  # (index, input) pairs
        for name in self.order:
            heads, consumers = [], []
            for v, keys in graph.nx._succ[name].items():
                read = False
                for d in keys.values():
                    heads.append(v)
                    if "index" in d:
                        reads[v].append((d["index"], name))
                        read = True
                    else:
                        self.special.update((name, v))
                if read:
                    consumers.append(v)
            self.successors[name], self.consumers[name] = heads, consumers
        self.inputs = {name: [u for _, u in sorted(pairs)] for name, pairs in reads.items()}
        self.fetched = set(fetches_of(graph))


def find_regions(graph: Graph, max_members: int = MAX_MEMBERS,
                 view: "_View | None" = None) -> list[list[str]]:
    """The regions (lists of node names in run order) that fusion may contract, singletons too.

    A node joins the largest region among its inputs' for which no other input of the node
    depends on that region; other such regions that neither depends on join it too. A
    comparison that ends up read outside its region stays out of every region: the regions
    grow again without it (its bool value has no place in a fused value).
    """
    view = view or _View(graph)
    excluded: set = set()
    deferred: set = set()
    while True:
        groups = _grow(graph, max_members, view, excluded, deferred)
        leaking = {m for group in groups for m in _bool_outputs(view, group)}
        late = _deferrable(view, groups) - deferred
        if not leaking and not late:
            return [_without_resummed_outputs(view, group) for group in groups]
        excluded |= leaking
        deferred |= late


def _deferrable(view: _View, groups: list) -> set:
    """The members whose values would wait, stored, for work that itself waits on their
    region: not fetched, read only by nodes outside that also read (through other inputs)
    something computed from the region, or by such members. A gradient's factor that reads
    only the forward's values (1 - tanh^2) would join the forward's region and be stored
    from the forward pass to the backward's read; left out, it is computed when needed."""
    region_of = {m: k for k, group in enumerate(groups) for m in group}
    below = dict.fromkeys(view.order, 0)  # node -> the bits of the regions among its ancestors
    for name in view.order:
        bits = below[name] | (1 << region_of[name] if name in region_of else 0)
        for v in view.successors[name]:
            below[v] |= bits
    found: set = set()
    for k, group in enumerate(groups):
        bit = 1 << k
        for m in reversed(group):
            readers = view.consumers[m]
            if m not in view.fetched and readers and all(
                    c in found if region_of.get(c) == k else any(
                        region_of.get(i) != k and below[i] & bit for i in view.inputs[c])
                    for c in readers):
                found.add(m)
    return found


def _without_resummed_outputs(view: _View, group: list) -> list:
    """`group` less its sums of values that leave it anyway. Such a sum saves one read of a
    value that is written out regardless, but packing the two into one flat value keeps the
    large value from being written in place of a dying input, and keeps all of it alive
    while the small sum is read: the memory plan grows (a sum left out reads the output, as
    unfused). A sum is read by no member, so leaving it out adds no output to the group."""
    inside = set(group)
    leaves = {m for m in group if m in view.fetched
              or any(c not in inside for c in view.consumers[m])}
    return [m for m in group if not (view.nodes[m]["op"] in REDUCTIONS
                                     and view.inputs[m][0] in leaves)]


def _bool_outputs(view: _View, group: list) -> list:
    """The comparisons of `group` that are fetched or read outside it (or that it holds alone)."""
    inside = set(group)
    return [m for m in group if view.nodes[m]["dtype"] == np.dtype(bool) and (
        len(group) == 1 or m in view.fetched or any(c not in inside for c in view.consumers[m]))]


def _grow(graph: Graph, max_members: int, view: _View, excluded: set,
          deferred: set) -> list[list[str]]:
    """find_regions' regions, the nodes of `excluded` left out, the nodes of `deferred` in
    regions of their own kind (started by one of them, holding no other)."""
    members: list[list[str]] = []
    want_of: list[tuple] = []
    mask: list[int] = []      # region -> the bits of the regions merged into it
    above: list[int] = []     # region -> the bits of the regions its members depend on
    parent: list[int] = []    # region -> the region it was merged into (itself if none)
    pure: list[bool] = []     # region -> whether it holds only deferred nodes
    region_of: dict[str, int] = {}
    sealed: set[str] = set()  # reductions: a region ends there
    upstream: dict[str, int] = {}  # node -> the bits of the regions among its strict ancestors
    pred = graph.nx._pred

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for name in view.order:
        preds = pred[name]
        up = 0
        for p in preds:
            up |= upstream[p] | (1 << region_of[p] if p in region_of else 0)
        upstream[name] = up
        fusible = None if name in excluded else _fusible(view, name)
        if fusible is None:
            continue
        want, ends = fusible
        late = name in deferred
        owner = {p: find(region_of[p]) for p in preds if p in region_of}
        valid = [r for r in {owner[i] for i in view.inputs[name] if i in owner and i not in sealed}
                 if want_of[r] == want and (pure[r] or not late) and all(
                     p not in sealed if owner.get(p) == r else not upstream[p] & mask[r]
                     for p in preds)]
        if len(valid) > 1:
            valid.sort(key=lambda r: -len(members[r]))
        if valid:
            r = valid[0]
            for other in valid[1:]:
                if len(members[r]) + len(members[other]) < max_members \
                        and not above[r] & mask[other] and not above[other] & mask[r]:
                    parent[other] = r
                    members[r] += members[other]
                    members[other] = []
                    mask[r] |= mask[other]
                    above[r] |= above[other]
                    pure[r] = pure[r] and pure[other]
        if not valid or len(members[r]) >= max_members:
            if ends:  # a region never starts with its end
                continue
            r = len(members)
            members.append([])
            want_of.append(want)
            mask.append(1 << r)
            above.append(0)
            parent.append(r)
            pure.append(late)
        members[r].append(name)
        pure[r] = pure[r] and late
        above[r] |= up
        region_of[name] = r
        if ends:
            sealed.add(name)
    position = {name: t for t, name in enumerate(view.order)}
    return [sorted(group, key=position.__getitem__) for group in members if group]


def _fusible(view: _View, name: str) -> tuple | None:
    """((shape, dtype) of the region node `name` may join, whether it ends that region), or
    None when it joins none. The region computes over `shape` in the float `dtype`: an
    elementwise node's own, a comparison's inputs' dtype, a reduction's input's shape."""
    nodes = view.nodes
    node = nodes[name]
    op = node["op"]
    compares = op in COMPARISONS
    if op not in SCALAR_FORMS and op not in REDUCTIONS and not compares:
        return None
    inputs = view.inputs[name]
    dtype = nodes[inputs[0]]["dtype"] if compares and inputs else node["dtype"]
    if dtype not in _DTYPES or not known(node["shape"]) or name in view.special:
        return None
    if compares and (name in view.fetched or any(
            nodes[c]["op"] not in _BOOL_READERS for c in view.consumers[name])):
        return None
    other = SCALAR_FORMS.get(op, ())
    for k, i in enumerate(inputs):
        spec = nodes[i]
        if not known(spec["shape"]) or not (spec["dtype"] == dtype or k in other
                                            and spec["dtype"] in _OTHER_DTYPES):
            return None
    if op in REDUCTIONS:
        shape = nodes[inputs[0]]["shape"]
        return ((shape, dtype), True) if shape else None
    return (node["shape"], dtype), False


def _contract(graph: Graph, view: _View, groups: list[list[str]], region_of: dict,
              order: list) -> Graph:
    """`graph` with each group replaced by its fused node (and output views), in `order`."""
    outputs = []
    for group in groups:
        inside = set(group)
        outputs.append([m for m in group if m in view.fetched
                        or any(c not in inside for c in view.consumers[m])])
    absorbed, inputs = _inputs(graph, view, groups, region_of)
    new = Graph()
    for item in order:
        if isinstance(item, int):
            _add_region(new, graph, view, groups[item], outputs[item], inputs[item],
                        absorbed[item])
        elif not _only_absorbed(view, item, region_of, absorbed):
            _copy(new, graph, view, item)
    for key in (FETCHES, FEEDS):
        for value in graph.get_collection(key):
            new.add_to_collection(key, value)
    return new


def _inputs(graph: Graph, view: _View, groups: list, region_of: dict) -> tuple[list, list]:
    """Per group: the 0-d constants it takes inside (in run order), and its other inputs in
    first-read order."""
    absorbed, inputs = [], []
    for k, group in enumerate(groups):
        outside = dict.fromkeys(i for m in group for i in view.inputs[m]
                                if region_of.get(i) != k)
        inside = [i for i in outside if view.nodes[i]["op"] == CONSTANT
                  and view.nodes[i]["shape"] == ()]
        absorbed.append(inside)
        inputs.append([i for i in outside if i not in inside])
    position = {name: t for t, name in enumerate(view.order)}
    return [sorted(a, key=position.__getitem__) for a in absorbed], inputs


def _only_absorbed(view: _View, name: str, region_of: dict, absorbed: list) -> bool:
    """True for a constant that only regions read, each taking it inside."""
    consumers = view.consumers[name]
    return name not in view.fetched and bool(consumers) and all(
        c in region_of and name in absorbed[region_of[c]] for c in consumers)


def _contracted_order(view: _View, region_of: dict) -> tuple[list, set]:
    """A topological order of the graph with each region as one item (its group index),
    close to the input's order (Kahn's algorithm, earliest position first), and the regions
    it could not order: a region joins what depends on any of its members to all it depends
    on, which may close a cycle through two regions (the growth checks paths between nodes)."""
    item = {name: region_of.get(name, name) for name in view.order}
    key: dict = {}
    members: dict = {}
    for t, name in enumerate(view.order):
        key.setdefault(item[name], t)
        members.setdefault(item[name], []).append(name)
    after = {i: [] for i in key}  # item -> the items reading it, once per edge between them
    waiting: dict = dict.fromkeys(key, 0)
    for name in view.order:
        for v in view.successors[name]:
            if item[v] != item[name]:
                after[item[name]].append(item[v])
                waiting[item[v]] += 1
    ready = [(key[i], i if isinstance(i, str) else "", i) for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        _, _, i = heapq.heappop(ready)
        result.append(i)
        for v in after[i]:
            waiting[v] -= 1
            if waiting[v] == 0:
                heapq.heappush(ready, (key[v], v if isinstance(v, str) else "", v))
    return result, {i for i, n in waiting.items() if n > 0 and isinstance(i, int)}


def _copy(new: Graph, graph: Graph, view: _View, name: str) -> None:
    node = view.nodes[name]
    plain = name not in view.special
    new.add_node(node["op"], [new.tensor(i) for i in view.inputs[name]], node["attrs"],
                 node["shape"], node["dtype"], node["source"], name=name, role=node["role"],
                 exact_name=True, refs=() if plain else tuple(graph.ref_inputs(name)))
    for dep in () if plain else graph.control_inputs(name):
        new.add_control_input(name, dep)


def _add_region(new: Graph, graph: Graph, view: _View, group: list, outputs: list,
                inputs: list, absorbed: list) -> None:
    """The group as one fused node in `new`, and a view per output when there are several."""
    first = graph.nx.nodes[outputs[0]]
    sub = Graph()
    for i in inputs:
        spec = graph.nx.nodes[i]
        sub.add_node("placeholder", [], {"dtype": spec["dtype"], "shape": spec["shape"]},
                     spec["shape"], spec["dtype"], spec["source"], name=i, role=spec["role"],
                     exact_name=True)
    for name in absorbed + group:
        _copy(sub, graph, view, name)
    region = Region.of(sub, inputs, group, outputs)
    spec = region.spec
    single = len(outputs) == 1
    fused_name = outputs[0] if single else _free_name(f"fused/{outputs[0]}", graph, new)
    new.add_node("fused", [new.tensor(i) for i in inputs], {"region": region}, spec.shape,
                 spec.dtype, first["source"], name=fused_name, role=first["role"],
                 exact_name=True)
    if single:
        return
    for name, offset in zip(outputs, region.offsets):
        node = graph.nx.nodes[name]
        new.add_node("fused_output", [new.tensor(fused_name)],
                     {"offset": offset, "shape": node["shape"]}, node["shape"], node["dtype"],
                     node["source"], name=name, role=node["role"], exact_name=True)


def _free_name(base: str, *graphs: Graph) -> str:
    name, count = base, 0
    while any(name in g.nx for g in graphs):
        count += 1
        name = f"{base}_{count}"
    return name
