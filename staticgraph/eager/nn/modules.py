"""`eager.nn` modules: Module, Parameter, Linear, Sequential, activations and losses.

A `Module` registers the `Parameter`s and sub-modules assigned to its attributes, so
`parameters()`, `named_parameters()`, `state_dict()` and `zero_grad()` find them; calling a
module calls its `forward`. What the book's concise chapters use, as PyTorch has it.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterator

import numpy as np

from staticgraph.eager import functions as F
from staticgraph.eager.factories import generator_of
from staticgraph.eager.mode import no_grad
from staticgraph.eager.nn import functional as FN
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import FailedPreconditionError


class Parameter(Tensor):
    """A leaf tensor that a Module registers as a parameter (requires grad by default); it
    shares storage with the tensor it is made from."""

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        data = Tensor(np.zeros(0, np.float32)) if data is None else data
        value = data._value if isinstance(data, Tensor) else Tensor(data)._value
        self._init(value, data._source if isinstance(data, Tensor) else "", None)
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """The base class of every layer and model: subclass it, assign parameters and
    sub-modules in `__init__`, and compute the output in `forward`."""

    training = True

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")
        for table in (self._parameters, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: "Module") -> None:
        setattr(self, name, module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  f"\"forward\" function")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- what it holds -------------------------------------------------------------------
    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator:
        seen: set[int] = set()
        for name, module in self.named_modules(prefix) if recurse else [(prefix, self)]:
            for pname, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{name}.{pname}" if name else pname), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_children(self) -> Iterator:
        return iter(self._modules.items())

    def children(self) -> Iterator["Module"]:
        return iter(self._modules.values())

    def named_modules(self, prefix: str = "") -> Iterator:
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def apply(self, fn) -> "Module":
        """Call `fn` on every sub-module, then on self (e.g. to initialise weights)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----- state ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def state_dict(self) -> "OrderedDict[str, Tensor]":
        """Every parameter by its dotted name, as tensors sharing the parameters' storage."""
        return OrderedDict((name, p.detach()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict: dict, strict: bool = True):
        """Copy the values of `state_dict` into the parameters (shapes must agree)."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise FailedPreconditionError(
                f"Error(s) in loading state_dict for {type(self).__name__}: missing keys "
                f"{missing}, unexpected keys {unexpected}")
        for name, value in state_dict.items():
            if name in own:
                value = value if isinstance(value, Tensor) else Tensor(value)
                if value.shape != own[name].shape:
                    raise FailedPreconditionError(
                        f"size mismatch for {name}: copying a param with shape "
                        f"{list(value.shape)}, the shape in current model is "
                        f"{list(own[name].shape)}.")
        with no_grad():
            for name, value in state_dict.items():
                if name in own:
                    own[name].copy_(value)
        return missing, unexpected

    def to(self, *args, **kwargs) -> "Module":
        dtype = next((a for a in args if not isinstance(a, str)), kwargs.get("dtype"))
        if dtype is not None:
            for p in self.parameters():
                p.data = p.data.to(dtype)
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    def cpu(self) -> "Module":
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in
                 self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


def _uniform(shape: tuple, bound: float) -> Parameter:
    return Parameter(Tensor(generator_of(None).uniform(-bound, bound, shape).astype(np.float32)))


class Linear(Module):
    """y = x @ weight.T + bias, weight of shape (out_features, in_features), both drawn from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as PyTorch initialises them."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.weight = _uniform((out_features, in_features), bound)
        self.register_parameter("bias", _uniform((out_features,), bound) if bias else None)

    def forward(self, input):
        return FN.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """The modules applied one after another; `net[0]` is the first."""

    def __init__(self, *modules) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            modules = modules[0].items()
        else:
            modules = ((str(i), m) for i, m in enumerate(modules))
        for name, module in modules:
            self.add_module(name, module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        items = list(self._modules.values())
        return Sequential(*items[index]) if isinstance(index, slice) else items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self


def _simple(name: str, fn, doc: str):
    def forward(self, input):
        return fn(input)
    return type(name, (Module,), {"forward": forward, "__doc__": doc})


ReLU = _simple("ReLU", FN.relu, "max(x, 0) elementwise.")
Sigmoid = _simple("Sigmoid", FN.sigmoid, "1 / (1 + exp(-x)) elementwise.")
Tanh = _simple("Tanh", FN.tanh, "tanh elementwise.")
Identity = _simple("Identity", lambda x: x, "The input, unchanged.")


class Flatten(Module):
    """Every dim from start_dim (1: keep the batch) to end_dim merged into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)


class Dropout(Module):
    """Dropout with probability p while training; the identity in eval mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, input):
        return FN.dropout(input, self.p, self.training)


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return FN.softmax(input, self.dim)


class LogSoftmax(Softmax):
    def forward(self, input):
        return FN.log_softmax(input, self.dim)


class _Loss(Module):
    FN = None

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return type(self).FN(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (`reduction="mean"`), or its sum or elements."""
    FN = staticmethod(FN.mse_loss)


class L1Loss(_Loss):
    FN = staticmethod(FN.l1_loss)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits against class indices (or probabilities)."""
    FN = staticmethod(FN.cross_entropy)


class NLLLoss(_Loss):
    FN = staticmethod(FN.nll_loss)


class BCELoss(_Loss):
    FN = staticmethod(FN.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    FN = staticmethod(FN.binary_cross_entropy_with_logits)
