"""TF1's "Deep MNIST for experts" tutorial: two 5x5 convolutions with ReLU and 2x2 max pooling,
a densely connected layer with dropout and a softmax readout, trained with Adam, accuracy via
`Tensor.eval`. Narrower layers than the tutorial's (4 and 8 feature maps, 64 units) keep it fast
on numpy; the code is the tutorial's structure. The loss of the initial weights equals a numpy
forward pass, and training brings the loss down and the test accuracy up, as on MNIST."""
import numpy as np

import staticgraph as tf

from . import _data

FEATURES_1, FEATURES_2, DENSE = 4, 8, 64


def _numpy_forward(images, params):
    """The network's logits in float64 numpy (keep_prob 1), for the initial weights."""
    def conv_relu(x, w, b):
        xp = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
        h, wd = x.shape[1:3]
        windows = np.stack([np.stack([xp[:, i:i + h, j:j + wd, :] for j in range(5)], 3)
                            for i in range(5)], 3)  # (N, H, W, 5, 5, C)
        return np.maximum(np.einsum("nhwijc,ijco->nhwo", windows, w) + b, 0)

    def pool(x):
        n, h, w, c = x.shape
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    w1, b1, w2, b2, wf, bf, wo, bo = (p.astype(np.float64) for p in params)
    h = pool(conv_relu(images.reshape(-1, 28, 28, 1), w1, b1))
    h = pool(conv_relu(h, w2, b2))
    dense = np.maximum(h.reshape(len(images), -1) @ wf + bf, 0)
    return dense @ wo + bo


def test_deep_mnist_tutorial(capsys):
    mnist = _data.read_data_sets(one_hot=True, train=1000, test=300, ink=0.2)
    tf.set_random_seed(1)

    def weight_variable(shape):
        return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

    def bias_variable(shape):
        return tf.Variable(tf.constant(0.1, shape=shape))

    def conv2d(x, W):
        return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding='SAME')

    def max_pool_2x2(x):
        return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')

    x = tf.placeholder(tf.float32, shape=[None, 784])
    y_ = tf.placeholder(tf.float32, shape=[None, 10])
    x_image = tf.reshape(x, [-1, 28, 28, 1])

    W_conv1, b_conv1 = weight_variable([5, 5, 1, FEATURES_1]), bias_variable([FEATURES_1])
    h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1))
    W_conv2 = weight_variable([5, 5, FEATURES_1, FEATURES_2])
    b_conv2 = bias_variable([FEATURES_2])
    h_pool2 = max_pool_2x2(tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2))
    assert h_pool2.get_shape().as_list() == [None, 7, 7, FEATURES_2]

    flat_size = h_pool2.get_shape()[1].value * h_pool2.get_shape()[2].value * FEATURES_2
    W_fc1, b_fc1 = weight_variable([flat_size, DENSE]), bias_variable([DENSE])
    h_pool2_flat = tf.reshape(h_pool2, [-1, flat_size])
    h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)
    keep_prob = tf.placeholder(tf.float32)
    h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)
    W_fc2, b_fc2 = weight_variable([DENSE, 10]), bias_variable([10])
    y_conv = tf.matmul(h_fc1_drop, W_fc2) + b_fc2

    cross_entropy = tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
    train_step = tf.train.AdamOptimizer(1e-3).minimize(cross_entropy)
    correct_prediction = tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        initial = sess.run([W_conv1, b_conv1, W_conv2, b_conv2, W_fc1, b_fc1, W_fc2, b_fc2])
        start = cross_entropy.eval({x: mnist.test.images, y_: mnist.test.labels, keep_prob: 1.0})
        for i in range(120):
            batch = mnist.train.next_batch(50)
            if i % 40 == 0:
                train_accuracy = accuracy.eval(feed_dict={x: batch[0], y_: batch[1], keep_prob: 1.0})
                print('step %d, training accuracy %g' % (i, train_accuracy))
            _, loss = sess.run([train_step, cross_entropy],
                               feed_dict={x: batch[0], y_: batch[1], keep_prob: 0.5})
            losses.append(loss)
        test_accuracy = accuracy.eval(feed_dict={x: mnist.test.images, y_: mnist.test.labels,
                                                 keep_prob: 1.0})
        print('test accuracy %g' % test_accuracy)

    z = _numpy_forward(mnist.test.images, initial)
    z -= z.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(start, -(mnist.test.labels * log_p).sum(1).mean(), rtol=1e-4)
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 3 and test_accuracy > 0.9
    assert capsys.readouterr().out.count("training accuracy") == 3
