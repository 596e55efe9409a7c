"""Small local stand-ins for the MNIST data the classic TF1 examples download.

`read_data_sets` returns the object `input_data.read_data_sets` does (train / test sets with
`images`, `labels`, `num_examples` and `next_batch`), holding 28x28 "images" drawn around ten
fixed random digit prototypes, pixel values in [0, 1], labels one-hot when asked.
"""
import numpy as np


class DataSet:
    def __init__(self, images, labels):
        self.images, self.labels, self.num_examples, self._start = images, labels, len(images), 0

    def next_batch(self, batch_size):
        """The next `batch_size` examples, in order, wrapping to the start at the end."""
        if self._start + batch_size > self.num_examples:
            self._start = 0
        part = slice(self._start, self._start + batch_size)
        self._start += batch_size
        return self.images[part], self.labels[part]


class Datasets:
    def __init__(self, train, test):
        self.train, self.test = train, test


def read_data_sets(one_hot=True, train=600, test=200, noise=0.3, seed=0, ink=1.0):
    """`ink`: the fraction of pixels a prototype lights (MNIST's digits light about a fifth)."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(0, 1, (10, 784)) * (rng.uniform(0, 1, (10, 784)) < ink)

    def draw(count):
        labels = rng.integers(0, 10, count)
        noise_ = rng.normal(0, noise, (count, 784)) * (prototypes[labels] > 0)
        images = np.clip(prototypes[labels] + noise_, 0, 1)
        targets = np.eye(10, dtype=np.float32)[labels] if one_hot else labels
        return DataSet(images.astype(np.float32), targets)

    return Datasets(draw(train), draw(test))
