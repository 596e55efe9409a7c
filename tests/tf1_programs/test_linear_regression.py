"""The classic TF1 linear-regression example: scalar placeholders of unknown shape ("float"),
variables initialised from numpy's random draws, squared error over 2n, gradient descent on one
sample at a time, and the training and testing costs printed; compared with the same loop in
numpy."""
import numpy

import staticgraph as tf

TRAIN_X = numpy.asarray([3.3, 4.4, 5.5, 6.71, 6.93, 4.168, 9.779, 6.182, 7.59, 2.167,
                         7.042, 10.791, 5.313, 7.997, 5.654, 9.27, 3.1])
TRAIN_Y = numpy.asarray([1.7, 2.76, 2.09, 3.19, 1.694, 1.573, 3.366, 2.596, 2.53, 1.221,
                         2.827, 3.465, 1.65, 2.904, 2.42, 2.94, 1.3])
TEST_X = numpy.asarray([6.83, 4.668, 8.9, 7.91, 5.7, 8.7, 3.1, 2.1])
TEST_Y = numpy.asarray([1.84, 2.273, 3.2, 2.831, 2.92, 3.24, 1.35, 1.03])


def _numpy_training(w, b, learning_rate, epochs):
    n = len(TRAIN_X)
    for _ in range(epochs):
        for x, y in zip(TRAIN_X, TRAIN_Y):
            residual = w * x + b - y  # d/dw of (w x + b - y)^2 / 2n
            w, b = w - learning_rate * residual * x / n, b - learning_rate * residual / n
    return w, b, ((w * TRAIN_X + b - TRAIN_Y) ** 2).sum() / (2 * n)


def test_linear_regression_example(capsys):
    rng = numpy.random
    rng.seed(0)
    learning_rate, training_epochs, display_step = 0.01, 60, 20
    n_samples = TRAIN_X.shape[0]

    X, Y = tf.placeholder("float"), tf.placeholder("float")
    W = tf.Variable(rng.randn(), name="weight")
    b = tf.Variable(rng.randn(), name="bias")
    pred = tf.add(tf.multiply(X, W), b)
    cost = tf.reduce_sum(tf.pow(pred - Y, 2)) / (2 * n_samples)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)
    init = tf.global_variables_initializer()

    with tf.Session() as sess:
        sess.run(init)
        w0, b0 = sess.run([W, b])
        for epoch in range(training_epochs):
            for (x, y) in zip(TRAIN_X, TRAIN_Y):
                sess.run(optimizer, feed_dict={X: x, Y: y})
            if (epoch + 1) % display_step == 0:
                c = sess.run(cost, feed_dict={X: TRAIN_X, Y: TRAIN_Y})
                print("Epoch:", "%04d" % (epoch + 1), "cost=", "{:.9f}".format(c),
                      "W=", sess.run(W), "b=", sess.run(b))
        training_cost = sess.run(cost, feed_dict={X: TRAIN_X, Y: TRAIN_Y})
        weight, bias = sess.run(W), sess.run(b)
        print("Training cost=", training_cost, "W=", weight, "b=", bias, "\n")
        testing_cost = sess.run(tf.reduce_sum(tf.pow(pred - Y, 2)) / (2 * TEST_X.shape[0]),
                                feed_dict={X: TEST_X, Y: TEST_Y})
        print("Testing cost=", testing_cost)
        print("Absolute mean square loss difference:", abs(training_cost - testing_cost))

    # numpy.random.randn() is a Python float: W and b are float32, as in TF1
    assert weight.dtype == numpy.float32
    w, b_, cost_ = _numpy_training(float(w0), float(b0), learning_rate, training_epochs)
    numpy.testing.assert_allclose([weight, bias, training_cost], [w, b_, cost_], rtol=1e-4)
    test_cost = ((w * TEST_X + b_ - TEST_Y) ** 2).sum() / (2 * len(TEST_X))
    numpy.testing.assert_allclose(testing_cost, test_cost, rtol=1e-4)
    assert capsys.readouterr().out.count("Epoch:") == training_epochs // display_step
