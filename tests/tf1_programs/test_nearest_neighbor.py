"""The classic TF1 nearest-neighbour example: L1 distances from one test image (a placeholder of
shape [784]) to every training image, `tf.arg_min` over axis 0, one run per test image; the
printed predictions and accuracy equal numpy's."""
import numpy as np

import staticgraph as tf

from . import _data


def test_nearest_neighbor_example(capsys):
    mnist = _data.read_data_sets(one_hot=True, train=500, test=40, noise=0.45)
    Xtr, Ytr = mnist.train.next_batch(500)
    Xte, Yte = mnist.test.next_batch(40)

    xtr = tf.placeholder("float", [None, 784])
    xte = tf.placeholder("float", [784])
    distance = tf.reduce_sum(tf.abs(tf.add(xtr, tf.negative(xte))), reduction_indices=1)
    pred = tf.arg_min(distance, 0)
    accuracy = 0.
    init = tf.global_variables_initializer()

    predictions = []
    with tf.Session() as sess:
        sess.run(init)
        for i in range(len(Xte)):
            nn_index = sess.run(pred, feed_dict={xtr: Xtr, xte: Xte[i, :]})
            print("Test", i, "Prediction:", np.argmax(Ytr[nn_index]),
                  "True Class:", np.argmax(Yte[i]))
            predictions.append(np.argmax(Ytr[nn_index]))
            if np.argmax(Ytr[nn_index]) == np.argmax(Yte[i]):
                accuracy += 1. / len(Xte)
        print("Done!")
        print("Accuracy:", accuracy)

    nearest = np.abs(Xtr[None] - Xte[:, None]).sum(-1).argmin(1)
    np.testing.assert_array_equal(predictions, Ytr[nearest].argmax(1))
    expected = (Ytr[nearest].argmax(1) == Yte.argmax(1)).mean()
    assert abs(accuracy - expected) < 1e-9 and accuracy > 0.9
    assert capsys.readouterr().out.count("Prediction:") == len(Xte)
