"""The classic TF1 multilayer perceptron: two linear hidden layers of 256 from `random_normal`
weights, softmax cross-entropy with logits, Adam, mini-batches, accuracy via `Tensor.eval`.
The first batch's cost equals numpy's forward pass on the initial weights; training brings the
epoch cost down and the test accuracy up, as on MNIST."""
import numpy as np

import staticgraph as tf

from . import _data


def test_multilayer_perceptron_example(capsys):
    mnist = _data.read_data_sets(one_hot=True, train=1000, test=200)
    learning_rate, training_epochs, batch_size, display_step = 0.001, 15, 100, 1
    n_hidden_1, n_hidden_2, n_input, n_classes = 256, 256, 784, 10

    X = tf.placeholder("float", [None, n_input])
    Y = tf.placeholder("float", [None, n_classes])
    weights = {
        'h1': tf.Variable(tf.random_normal([n_input, n_hidden_1])),
        'h2': tf.Variable(tf.random_normal([n_hidden_1, n_hidden_2])),
        'out': tf.Variable(tf.random_normal([n_hidden_2, n_classes]))}
    biases = {
        'b1': tf.Variable(tf.random_normal([n_hidden_1])),
        'b2': tf.Variable(tf.random_normal([n_hidden_2])),
        'out': tf.Variable(tf.random_normal([n_classes]))}

    def multilayer_perceptron(x):
        layer_1 = tf.add(tf.matmul(x, weights['h1']), biases['b1'])
        layer_2 = tf.add(tf.matmul(layer_1, weights['h2']), biases['b2'])
        return tf.matmul(layer_2, weights['out']) + biases['out']

    logits = multilayer_perceptron(X)
    loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
    optimizer = tf.train.AdamOptimizer(learning_rate=learning_rate)
    train_op = optimizer.minimize(loss_op)
    init = tf.global_variables_initializer()

    costs, first = [], None
    with tf.Session() as sess:
        sess.run(init)
        initial = sess.run([weights['h1'], biases['b1'], weights['h2'], biases['b2'],
                            weights['out'], biases['out']])
        for epoch in range(training_epochs):
            avg_cost = 0.
            total_batch = int(mnist.train.num_examples / batch_size)
            for i in range(total_batch):
                batch_x, batch_y = mnist.train.next_batch(batch_size)
                _, c = sess.run([train_op, loss_op], feed_dict={X: batch_x, Y: batch_y})
                first = c if first is None else first
                avg_cost += c / total_batch
            if epoch % display_step == 0:
                print("Epoch:", '%04d' % (epoch + 1), "cost={:.9f}".format(avg_cost))
            costs.append(avg_cost)
        print("Optimization Finished!")
        pred = tf.nn.softmax(logits)
        correct_prediction = tf.equal(tf.argmax(pred, 1), tf.argmax(Y, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, "float"))
        test_accuracy = accuracy.eval({X: mnist.test.images, Y: mnist.test.labels})
        print("Accuracy:", test_accuracy)

    w1, b1, w2, b2, w3, b3 = (v.astype(np.float64) for v in initial)
    z = ((mnist.train.images[:batch_size] @ w1 + b1) @ w2 + b2) @ w3 + b3
    z -= z.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(first, -(mnist.train.labels[:batch_size] * log_p).sum(1).mean(),
                               rtol=1e-3)
    assert costs[-1] < costs[0] / 5 and test_accuracy > 0.85
    assert capsys.readouterr().out.count("Epoch:") == training_epochs
