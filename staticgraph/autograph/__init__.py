"""AutoGraph: Python control flow on tensors becomes graph control flow, by rewriting the source.

`sg.function(f)` converts `f` (as TensorFlow 2's AutoGraph does) before tracing it:

- `if c:`, `while c:` and `for i in range(n):` become calls that decide at trace time: on a
  static tensor `c` (or `n`) they build `sg.cond` / `sg.while_loop`; on a Python value (or an
  eager tensor) they run as plain Python, so a loop over a Python count still unrolls.
- The variables a branch or loop body assigns are its outputs / loop variables. A variable that
  has no value before a tensor `if` and is assigned in only one branch, or is assigned only
  inside a tensor loop, is undefined after it: using it raises InvalidArgumentError naming the
  statement's `file:line` (AutoGraph raises the same at conversion, where the variable is used).
  Loop variables keep their dtype and shape (`sg.while_loop`'s rule), and hold tensors and
  numbers only; a Python number becomes a constant of TF1's default dtype for it.
- `return`, `break` and `continue` inside an `if` or loop, `while ... else`, `yield`, `global`
  and `nonlocal` are supported when the condition is a Python value; with a tensor condition
  they raise UnimplementedError naming the line (AutoGraph rewrites them; here, assign a
  variable and return after the statement, and fold a break into the loop's condition).
- `for x in t` over a static tensor raises UnimplementedError (index it in a range loop);
  `for i in range(a, b, s)` with tensor bounds needs a nonzero Python int step; its index `i`
  has no value after the loop.
- Functions called by name (`g(x)`) and methods called on `self` / `cls` are converted when
  called, once each; library code (staticgraph, the standard library, installed packages),
  lambdas and calls through other attributes (`module.g(x)`) run as written.

`to_code(f)` shows the converted source; `convert(f)` returns the converted function.
"""
from staticgraph.autograph.conversion import convert, is_user_code, to_code

__all__ = ["convert", "is_user_code", "to_code"]
