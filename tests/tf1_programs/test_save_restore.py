"""The classic TF1 save/restore example: train a ReLU perceptron with Adam for a few epochs,
`saver.save(sess, "<dir>/model.ckpt")`, then in a second session run the initializer,
`saver.restore` and keep training. The restored session holds exactly the saved weights and
Adam's state, so its first step matches a step taken right after saving in the first session."""
import numpy as np

import staticgraph as tf

from . import _data


def test_save_restore_example(tmp_path, capsys):
    mnist = _data.read_data_sets(one_hot=True, train=400, test=200)
    learning_rate, batch_size, display_step = 0.001, 100, 1
    model_path = str(tmp_path / "model.ckpt")
    n_hidden_1, n_hidden_2, n_input, n_classes = 256, 256, 784, 10

    x = tf.placeholder("float", [None, n_input])
    y = tf.placeholder("float", [None, n_classes])

    def multilayer_perceptron(x, weights, biases):
        layer_1 = tf.nn.relu(tf.add(tf.matmul(x, weights['h1']), biases['b1']))
        layer_2 = tf.nn.relu(tf.add(tf.matmul(layer_1, weights['h2']), biases['b2']))
        return tf.matmul(layer_2, weights['out']) + biases['out']

    weights = {
        'h1': tf.Variable(tf.random_normal([n_input, n_hidden_1])),
        'h2': tf.Variable(tf.random_normal([n_hidden_1, n_hidden_2])),
        'out': tf.Variable(tf.random_normal([n_hidden_2, n_classes]))}
    biases = {
        'b1': tf.Variable(tf.random_normal([n_hidden_1])),
        'b2': tf.Variable(tf.random_normal([n_hidden_2])),
        'out': tf.Variable(tf.random_normal([n_classes]))}
    pred = multilayer_perceptron(x, weights, biases)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
    optimizer = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(cost)
    init = tf.global_variables_initializer()
    saver = tf.train.Saver()

    def train(sess, epochs):
        costs = []
        for epoch in range(epochs):
            avg_cost = 0.
            total_batch = int(mnist.train.num_examples / batch_size)
            for i in range(total_batch):
                batch_x, batch_y = mnist.train.next_batch(batch_size)
                _, c = sess.run([optimizer, cost], feed_dict={x: batch_x, y: batch_y})
                avg_cost += c / total_batch
            if epoch % display_step == 0:
                print("Epoch:", '%04d' % (epoch + 1), "cost=", "{:.9f}".format(avg_cost))
            costs.append(avg_cost)
        return costs

    everything = tf.global_variables()
    print("Starting 1st session...")
    with tf.Session() as sess:
        sess.run(init)
        first = train(sess, 3)
        print("First Optimization Finished!")
        correct_prediction = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, "float"))
        first_accuracy = accuracy.eval({x: mnist.test.images, y: mnist.test.labels})
        print("Accuracy:", first_accuracy)
        save_path = saver.save(sess, model_path)
        print("Model saved in file: %s" % save_path)
        saved = sess.run(everything)
        batch = mnist.train.images[:batch_size], mnist.train.labels[:batch_size]
        _, step_cost = sess.run([optimizer, cost], {x: batch[0], y: batch[1]})
        after_step = sess.run(weights['h1'])

    print("Starting 2nd session...")
    with tf.Session() as sess:
        sess.run(init)
        saver.restore(sess, model_path)
        print("Model restored from file: %s" % save_path)
        for value, restored in zip(saved, sess.run(everything)):
            np.testing.assert_array_equal(value, restored)
        _, restored_cost = sess.run([optimizer, cost], {x: batch[0], y: batch[1]})
        np.testing.assert_array_equal(sess.run(weights['h1']), after_step)
        assert restored_cost == step_cost
        second = train(sess, 4)
        print("Second Optimization Finished!")
        correct_prediction = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, "float"))
        test_accuracy = accuracy.eval({x: mnist.test.images, y: mnist.test.labels})
        print("Accuracy:", test_accuracy)

    assert save_path == model_path
    assert len(everything) > 6  # Adam's slots and powers are saved too, as in TF1
    assert second[-1] < first[-1] < first[0] and test_accuracy > first_accuracy
    out = capsys.readouterr().out
    assert "Model restored from file: %s" % model_path in out and out.count("Epoch:") == 7
