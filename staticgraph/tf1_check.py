"""`staticgraph tf1-check`: the TensorFlow 1 names a script uses that staticgraph lacks.

The script is read, never run: every attribute chain rooted at the name TensorFlow (or
staticgraph) was imported as (`import tensorflow as tf`, `import staticgraph as tf`,
`from tensorflow import nn`, ...) is looked up in staticgraph, and each that does not resolve
is reported with the lines that use it.
"""
from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from staticgraph.errors import InvalidArgumentError

_ROOTS = ("tensorflow", "staticgraph", "tensorflow.compat.v1")


@dataclass
class Report:
    """What `check_script` found: names staticgraph has, and those it lacks (name -> lines)."""
    found: dict[str, list[int]] = field(default_factory=dict)
    missing: dict[str, list[int]] = field(default_factory=dict)

    def format(self, script: str) -> str:
        if not self.found and not self.missing:
            return f"{script}: uses no TensorFlow names"
        lines = [f"{script}: {len(self.found) + len(self.missing)} TensorFlow names, "
                 f"{len(self.missing)} missing from staticgraph"]
        for name, where in sorted(self.missing.items()):
            lines.append(f"  missing  tf.{name}  (line {', '.join(map(str, where))})")
        return "\n".join(lines)


def check_script(path: str | Path) -> Report:
    """The TF1 names `path` uses, split into those staticgraph has and those it lacks.

    Raises:
        InvalidArgumentError: the file cannot be read or is not Python.

    Example:
        >>> import tempfile, os
        >>> src = "import tensorflow as tf\\nx = tf.sin(tf.zeros([2]))\\ntf.no_such_thing()\\n"
        >>> with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        ...     _ = f.write(src)
        >>> sorted(check_script(f.name).missing)
        ['no_such_thing']
        >>> os.unlink(f.name)
    """
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise InvalidArgumentError(f"tf1-check: cannot read {path} as Python: {exc}") from None
    aliases = _aliases(tree)
    # `tf.nn.relu` is one use: the inner chain `tf.nn` is looked up as part of it.
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    uses = [(name, node.lineno) for node in ast.walk(tree) if id(node) not in inner
            and (name := _tf_name(node, aliases)) is not None]
    uses += [(dotted, line) for line, dotted in aliases.values() if dotted]
    report = Report()
    for name, line in sorted(uses, key=lambda use: use[1]):
        target = report.found if _resolves(name) else report.missing
        target.setdefault(name, []).append(line)
    return report


def _aliases(tree: ast.AST) -> dict[str, tuple[int, str]]:
    """Local name -> (line, the dotted TF name it stands for; "" for the package itself)."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _ROOTS and alias.asname:
                    out[alias.asname] = (node.lineno, "")
                elif alias.name in ("tensorflow", "staticgraph"):
                    out[alias.name] = (node.lineno, "")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = next((r for r in sorted(_ROOTS, key=len, reverse=True)
                         if node.module == r or node.module.startswith(r + ".")), None)
            if root is None:
                continue
            prefix = node.module[len(root):].lstrip(".")
            for alias in node.names:
                dotted = f"{prefix}.{alias.name}" if prefix else alias.name
                out[alias.asname or alias.name] = (node.lineno, dotted)
    return out


def _tf_name(node: ast.AST, aliases: dict) -> str | None:
    """The dotted TF name an attribute chain such as `tf.nn.relu` stands for, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not parts or not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    base = aliases[node.id][1]
    return ".".join(([base] if base else []) + parts[::-1])


def _resolves(dotted: str) -> bool:
    """True when `staticgraph.<dotted>` exists (an attribute, or a submodule that imports)."""
    obj = importlib.import_module("staticgraph")
    path = "staticgraph"
    for part in dotted.split("."):
        path = f"{path}.{part}"
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(path)
        except ImportError:
            return False
    return True
