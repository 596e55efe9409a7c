"""The classic TF1 "TensorBoard advanced" program: a ReLU perceptron built under name scopes
(Model, Loss, SGD, Accuracy), gradients from `tf.gradients` applied with `apply_gradients`,
histograms of activations, weights and gradients, scalar summaries of loss and accuracy,
`merge_all`, and a `FileWriter` given the graph. TensorBoard's own reader finds every tag at
every step, the logged losses equal the printed ones, and the graph tab has the scopes."""
import numpy as np
import pytest

import staticgraph as tf

from . import _data

accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_tensorboard_advanced_example(tmp_path, capsys):
    mnist = _data.read_data_sets(one_hot=True, train=300, test=100)
    learning_rate, training_epochs, batch_size, display_step = 0.01, 3, 100, 1
    logs_path = str(tmp_path / "example")
    n_hidden_1, n_hidden_2, n_input, n_classes = 256, 256, 784, 10

    x = tf.placeholder(tf.float32, [None, 784], name='InputData')
    y = tf.placeholder(tf.float32, [None, 10], name='LabelData')

    def multilayer_perceptron(x, weights, biases):
        layer_1 = tf.nn.relu(tf.add(tf.matmul(x, weights['w1']), biases['b1']))
        tf.summary.histogram("relu1", layer_1)
        layer_2 = tf.nn.relu(tf.add(tf.matmul(layer_1, weights['w2']), biases['b2']))
        tf.summary.histogram("relu2", layer_2)
        return tf.add(tf.matmul(layer_2, weights['w3']), biases['b3'])

    weights = {
        'w1': tf.Variable(tf.random_normal([n_input, n_hidden_1]), name='W1'),
        'w2': tf.Variable(tf.random_normal([n_hidden_1, n_hidden_2]), name='W2'),
        'w3': tf.Variable(tf.random_normal([n_hidden_2, n_classes]), name='W3')}
    biases = {
        'b1': tf.Variable(tf.random_normal([n_hidden_1]), name='b1'),
        'b2': tf.Variable(tf.random_normal([n_hidden_2]), name='b2'),
        'b3': tf.Variable(tf.random_normal([n_classes]), name='b3')}

    with tf.name_scope('Model'):
        pred = multilayer_perceptron(x, weights, biases)
    with tf.name_scope('Loss'):
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
    with tf.name_scope('SGD'):
        optimizer = tf.train.GradientDescentOptimizer(learning_rate)
        grads = tf.gradients(loss, tf.trainable_variables())
        grads = list(zip(grads, tf.trainable_variables()))
        apply_grads = optimizer.apply_gradients(grads_and_vars=grads)
    with tf.name_scope('Accuracy'):
        acc = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
        acc = tf.reduce_mean(tf.cast(acc, tf.float32))
    init = tf.global_variables_initializer()

    tf.summary.scalar("loss", loss)
    tf.summary.scalar("accuracy", acc)
    for var in tf.trainable_variables():
        tf.summary.histogram(var.name, var)
    for grad, var in grads:
        tf.summary.histogram(var.name + '/gradient', grad)
    merged_summary_op = tf.summary.merge_all()

    printed = []
    with tf.Session() as sess:
        sess.run(init)
        summary_writer = tf.summary.FileWriter(logs_path, graph=tf.get_default_graph())
        for epoch in range(training_epochs):
            avg_cost = 0.
            total_batch = int(mnist.train.num_examples / batch_size)
            for i in range(total_batch):
                batch_xs, batch_ys = mnist.train.next_batch(batch_size)
                _, c, summary = sess.run([apply_grads, loss, merged_summary_op],
                                         feed_dict={x: batch_xs, y: batch_ys})
                summary_writer.add_summary(summary, epoch * total_batch + i)
                printed.append(c)
                avg_cost += c / total_batch
            if (epoch + 1) % display_step == 0:
                print("Epoch:", '%04d' % (epoch + 1), "cost=", "{:.9f}".format(avg_cost))
        print("Optimization Finished!")
        print("Accuracy:", acc.eval({x: mnist.test.images, y: mnist.test.labels}))
        summary_writer.close()

    events = accumulator.EventAccumulator(logs_path, size_guidance={"scalars": 0,
                                                                    "histograms": 0})
    events.Reload()
    tags = events.Tags()
    steps = list(range(training_epochs * 3))
    assert [e.step for e in events.Scalars("loss")] == steps
    np.testing.assert_allclose([e.value for e in events.Scalars("loss")], printed, rtol=1e-6)
    assert {"relu1", "relu2"} <= {t.split("/")[-1] for t in tags["histograms"]}
    gradient_tags = [t for t in tags["histograms"] if t.endswith("/gradient")]
    assert len(gradient_tags) == 6
    for tag in gradient_tags:
        assert [e.step for e in events.Histograms(tag)] == steps
    graph = events.Graph()
    scopes = {node.name.split("/")[0] for node in graph.node}
    assert {"Model", "Loss", "SGD", "Accuracy"} <= scopes
    assert capsys.readouterr().out.count("Epoch:") == training_epochs
