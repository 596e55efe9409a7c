"""The classic TF1 logistic-regression and softmax-tutorial programs, on small synthetic data.

Written as TF1 programs (only `import staticgraph as tf`) in the shape of the well-known
examples: placeholders for a batch of images and one-hot labels, a softmax layer, mean
cross-entropy, gradient descent over mini-batches, accuracy from argmax. The data are ten
Gaussian clusters in 64 dimensions standing in for MNIST. Float inputs are fed as float32 arrays.
"""
import numpy as np

import staticgraph as tf

FEATURES, CLASSES = 64, 10


def _dataset(samples: int, seed: int):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(0, 1, (CLASSES, FEATURES))
    labels = rng.integers(0, CLASSES, samples)
    images = (centres[labels] + rng.normal(0, 1.5, (samples, FEATURES))).astype(np.float32)
    return images, np.eye(CLASSES, dtype=np.float32)[labels]


TRAIN, TEST = _dataset(1000, 1), _dataset(300, 2)


def _numpy_logistic_regression(epochs, batch_size, learning_rate):
    """The same training in numpy (float64): the costs per epoch the program must print."""
    images, labels = TRAIN
    w, b, costs = np.zeros((FEATURES, CLASSES)), np.zeros(CLASSES), []
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(images), batch_size):
            x, y = images[i:i + batch_size].astype(np.float64), labels[i:i + batch_size]
            z = x @ w + b
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            total += -(y * np.log(p)).sum(1).mean() / (len(images) // batch_size)
            g = (p - y) / len(x)
            w, b = w - learning_rate * x.T @ g, b - learning_rate * g.sum(0)
        costs.append(total)
    return costs


def test_logistic_regression_example(capsys):
    learning_rate, training_epochs, batch_size, display_step = 0.01, 5, 100, 1

    x = tf.placeholder(tf.float32, [None, FEATURES])  # the "mnist" images
    y = tf.placeholder(tf.float32, [None, CLASSES])   # one-hot labels

    W = tf.Variable(tf.zeros([FEATURES, CLASSES]))
    b = tf.Variable(tf.zeros([CLASSES]))
    pred = tf.nn.softmax(tf.matmul(x, W) + b)
    cost = tf.reduce_mean(-tf.reduce_sum(y * tf.log(pred), reduction_indices=1))
    optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)
    init = tf.initialize_all_variables()

    costs = []
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        sess.run(init)
        total_batch = len(TRAIN[0]) // batch_size
        for epoch in range(training_epochs):
            avg_cost = 0.0
            for i in range(total_batch):
                batch_xs = TRAIN[0][i * batch_size:(i + 1) * batch_size]
                batch_ys = TRAIN[1][i * batch_size:(i + 1) * batch_size]
                _, c = sess.run([optimizer, cost], feed_dict={x: batch_xs, y: batch_ys})
                avg_cost += c / total_batch
            if (epoch + 1) % display_step == 0:
                print("Epoch:", "%04d" % (epoch + 1), "cost=", "{:.9f}".format(avg_cost))
            costs.append(avg_cost)
        correct_prediction = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
        test_accuracy = sess.run(accuracy, {x: TEST[0], y: TEST[1]})
        print("Accuracy:", test_accuracy)

    np.testing.assert_allclose(costs, _numpy_logistic_regression(training_epochs, batch_size,
                                                                 learning_rate), rtol=1e-4)
    assert costs[-1] < costs[0] and test_accuracy > 0.9
    assert capsys.readouterr().out.count("Epoch:") == training_epochs


def _softmax_tutorial(seed: int):
    """The TF1 MNIST tutorial's structure with a hidden layer: random initial weights, dropout
    fed through keep_prob, softmax_cross_entropy_with_logits_v2, arg_max for accuracy."""
    tf.reset_default_graph()
    tf.set_random_seed(seed)
    x = tf.placeholder(tf.float32, [None, FEATURES])
    y_ = tf.placeholder(tf.float32, [None, CLASSES])
    keep_prob = tf.placeholder(tf.float32, [])  # TF1 allows the shape left out: not yet here
    W1 = tf.Variable(tf.truncated_normal([FEATURES, 32], stddev=0.1))
    b1 = tf.Variable(tf.constant(np.full(32, 0.1, np.float32)))  # TF1: constant(0.1, shape=[32])
    W2 = tf.Variable(tf.random_normal([32, CLASSES], stddev=0.1))
    b2 = tf.Variable(tf.zeros([CLASSES]))
    hidden = tf.nn.dropout(tf.nn.relu(tf.nn.bias_add(tf.matmul(x, W1), b1)), keep_prob)
    y = tf.matmul(hidden, W2) + b2
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
    loss = cross_entropy + 1e-4 * (tf.nn.l2_loss(W1) + tf.nn.l2_loss(W2))
    train_step = tf.train.GradientDescentOptimizer(0.2).minimize(loss)
    correct = tf.equal(tf.arg_max(y, 1), tf.arg_max(y_, 1))
    accuracy = tf.reduce_mean(tf.to_float(correct))
    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    for step in range(200):
        batch = np.random.default_rng(step).integers(0, len(TRAIN[0]), 50)
        train_step.run(feed_dict={x: TRAIN[0][batch], y_: TRAIN[1][batch], keep_prob: 0.8})
    result = accuracy.eval(feed_dict={x: TEST[0], y_: TEST[1], keep_prob: 1.0})
    sess.close()
    return result


def test_softmax_tutorial_with_dropout_is_reproducible_with_a_graph_seed():
    first = _softmax_tutorial(seed=42)
    assert first > 0.9
    assert _softmax_tutorial(seed=42) == first
