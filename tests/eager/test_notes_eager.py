"""The eager notes example runs, prints the notes' results and draws f(a)'s recorded graphs."""
from examples import notes_eager


def test_notes_eager_example(tmp_path, capsys):
    notes_eager.CHECKS.clear()
    assert notes_eager.main(str(tmp_path))
    printed = capsys.readouterr().out
    for line in ("tensor([0., 1., 2., 3.])", "tensor(28., grad_fn=<MulBackward0>)",
                 "tensor([ 0.,  4.,  8., 12.])", "tensor([True, True, True, True])",
                 "tensor([1., 1., 1., 1.])", "tensor([0., 2., 4., 6.])", "tensor(True))"):
        assert line in printed
    assert len(notes_eager.CHECKS) == 8
    assert (tmp_path / "notes_eager_f_positive.dot").read_text().startswith("digraph")
    assert (tmp_path / "notes_eager_f_negative.dot").exists()
