"""TF1's "MNIST for ML beginners" tutorial: an InteractiveSession, W and b from `tf.zeros`,
`y = tf.nn.softmax(tf.matmul(x, W) + b)`, the hand-written cross-entropy with
`reduction_indices=[1]`, gradient descent at 0.5 on batches of 100, `tf.global_variables_initializer().run()`,
`train_step.run(feed_dict=...)` and `accuracy.eval(...)`. W after training equals numpy's
implementation of the same steps, and the accuracy is high, as in the tutorial (about 92%)."""
import numpy as np

import staticgraph as tf

from . import _data


def _numpy_tutorial(mnist, steps):
    w, b = np.zeros((784, 10)), np.zeros(10)
    for i in range(steps):
        xs = mnist.train.images[(i * 100) % 600:(i * 100) % 600 + 100].astype(np.float64)
        ys = mnist.train.labels[(i * 100) % 600:(i * 100) % 600 + 100]
        z = xs @ w + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - ys) / len(xs)
        w, b = w - 0.5 * xs.T @ g, b - 0.5 * g.sum(0)
    return w, b


def test_mnist_softmax_tutorial(capsys):
    mnist = _data.read_data_sets(one_hot=True, train=600, test=300, noise=0.6, ink=0.2)
    sess = tf.InteractiveSession()
    x = tf.placeholder(tf.float32, [None, 784])
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    y_ = tf.placeholder(tf.float32, [None, 10])
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    tf.global_variables_initializer().run()
    for _ in range(30):
        batch_xs, batch_ys = mnist.train.next_batch(100)
        train_step.run(feed_dict={x: batch_xs, y_: batch_ys})
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    test_accuracy = accuracy.eval(feed_dict={x: mnist.test.images, y_: mnist.test.labels})
    print(test_accuracy)
    trained_w, trained_b = sess.run([W, b])
    sess.close()

    w, b_ = _numpy_tutorial(mnist, 30)
    np.testing.assert_allclose(trained_w, w, atol=2e-4)
    np.testing.assert_allclose(trained_b, b_, atol=2e-4)
    predicted = (mnist.test.images @ w + b_).argmax(1)
    expected = (predicted == mnist.test.labels.argmax(1)).mean()
    assert abs(test_accuracy - expected) < 0.01 and test_accuracy > 0.9
    assert capsys.readouterr().out.strip() == str(test_accuracy)
