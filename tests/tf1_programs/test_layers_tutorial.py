"""TF1's "Layers" tutorial CNN for MNIST (two 5x5 conv2d + max_pooling2d stages, flatten, a
dense ReLU layer, dropout while training, a dense readout), and a multilayer perceptron written
with `tf.layers.dense`, as course code writes them. The layers are narrower than the tutorial's
(4 and 8 filters, 32 units) and the data are small local stand-ins for MNIST; the initial logits
equal a numpy forward pass with the variables the layers made, and training brings the loss
down and the accuracy up."""
import numpy as np

import staticgraph as tf

from . import _data


def _cnn_logits_numpy(images, params):
    """The CNN's logits in float64 numpy (no dropout): 'same' 5x5 convolutions by windows."""
    def conv_relu(x, kernel, bias):
        h, w = x.shape[1:3]
        padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
        out = sum(np.einsum("nhwc,co->nhwo", padded[:, i:i + h, j:j + w], kernel[i, j])
                  for i in range(5) for j in range(5))
        return np.maximum(out + bias, 0)

    def pool(x):
        n, h, w, c = x.shape
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    k1, b1, k2, b2, kd, bd, kl, bl = (p.astype(np.float64) for p in params)
    h = pool(conv_relu(pool(conv_relu(images.reshape(-1, 28, 28, 1), k1, b1)), k2, b2))
    return np.maximum(h.reshape(len(images), -1) @ kd + bd, 0) @ kl + bl


def test_layers_tutorial_mnist_cnn():
    mnist = _data.read_data_sets(one_hot=False, train=600, test=100, ink=0.2)
    tf.set_random_seed(2)
    features = tf.placeholder(tf.float32, [None, 784])
    labels = tf.placeholder(tf.int64, [None])
    training = tf.placeholder(tf.bool, [])

    input_layer = tf.reshape(features, [-1, 28, 28, 1])
    conv1 = tf.layers.conv2d(inputs=input_layer, filters=4, kernel_size=[5, 5], padding="same",
                             activation=tf.nn.relu)
    pool1 = tf.layers.max_pooling2d(inputs=conv1, pool_size=[2, 2], strides=2)
    conv2 = tf.layers.conv2d(inputs=pool1, filters=8, kernel_size=[5, 5], padding="same",
                             activation=tf.nn.relu)
    pool2 = tf.layers.max_pooling2d(inputs=conv2, pool_size=[2, 2], strides=2)
    pool2_flat = tf.reshape(pool2, [-1, 7 * 7 * 8])
    dense = tf.layers.dense(inputs=pool2_flat, units=32, activation=tf.nn.relu)
    dropout = tf.layers.dropout(inputs=dense, rate=0.4, training=training)
    logits = tf.layers.dense(inputs=dropout, units=10)

    assert [(v.name, v.shape) for v in tf.trainable_variables()] == [
        ("conv2d/kernel", (5, 5, 1, 4)), ("conv2d/bias", (4,)),
        ("conv2d_1/kernel", (5, 5, 4, 8)), ("conv2d_1/bias", (8,)),
        ("dense/kernel", (392, 32)), ("dense/bias", (32,)),
        ("dense_1/kernel", (32, 10)), ("dense_1/bias", (10,))]
    assert tf.layers.flatten(pool2).shape == pool2_flat.shape == (None, 392)

    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
    train_op = tf.train.AdamOptimizer(learning_rate=0.002).minimize(loss)
    accuracy = tf.reduce_mean(tf.to_float(tf.equal(tf.argmax(logits, 1), labels)))

    test_feed = {features: mnist.test.images, labels: mnist.test.labels, training: False}
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        initial_logits = sess.run(logits, test_feed)
        np.testing.assert_allclose(
            initial_logits,
            _cnn_logits_numpy(mnist.test.images, sess.run(tf.trainable_variables())),
            rtol=1e-4, atol=1e-5)
        start_loss, start_accuracy = sess.run([loss, accuracy], test_feed)
        for _ in range(50):
            images, targets = mnist.train.next_batch(20)
            _, value = sess.run([train_op, loss], {features: images, labels: targets,
                                                   training: True})
            losses.append(value)
        test_loss, test_accuracy = sess.run([loss, accuracy], test_feed)
    assert np.mean(losses[-10:]) < 0.85 * np.mean(losses[:10])       # with dropout
    assert test_loss < start_loss / 2 and test_accuracy > max(0.8, start_accuracy + 0.3)


def test_multilayer_perceptron_with_layers_dense():
    mnist = _data.read_data_sets(one_hot=True, train=500, test=200)
    tf.set_random_seed(3)
    x = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])

    def multilayer_perceptron(inputs, reuse=None):
        with tf.variable_scope("mlp", reuse=reuse):
            hidden = tf.layers.dense(inputs, 64, activation=tf.nn.relu, name="hidden_1")
            hidden = tf.layers.dense(hidden, 64, activation=tf.nn.relu, name="hidden_2")
            return tf.layers.dense(hidden, 10, name="out")

    logits = multilayer_perceptron(x)
    test_logits = multilayer_perceptron(x, reuse=True)          # shares the variables
    assert [v.name for v in tf.trainable_variables()] == [
        "mlp/hidden_1/kernel", "mlp/hidden_1/bias", "mlp/hidden_2/kernel", "mlp/hidden_2/bias",
        "mlp/out/kernel", "mlp/out/bias"]
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
    correct = tf.equal(tf.argmax(test_logits, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        epoch_costs = []
        for _ in range(5):
            costs = []
            for _ in range(mnist.train.num_examples // 100):
                batch_x, batch_y = mnist.train.next_batch(100)
                _, cost = sess.run([train_op, loss], {x: batch_x, y: batch_y})
                costs.append(cost)
            epoch_costs.append(np.mean(costs))
        test_accuracy = accuracy.eval({x: mnist.test.images, y: mnist.test.labels})
        same = np.array_equal(*sess.run([logits, test_logits], {x: mnist.test.images}))
    assert epoch_costs[-1] < epoch_costs[0] / 3 and test_accuracy > 0.9 and same
