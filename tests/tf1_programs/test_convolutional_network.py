"""The classic TF1 example collection's raw convolutional network: `conv2d` / `maxpool2d`
helpers with `tf.nn.bias_add`, weights in dicts, the dense layer's input size read with
`get_shape().as_list()`, dropout, Adam, and accuracy from `tf.equal(tf.argmax(...))`. Narrower
layers than the example's (6 and 12 feature maps, 48 units) keep it fast on numpy. Training
lowers the loss and reaches a high test accuracy on the local digit stand-ins; the graph's
static shapes are TF1's."""
import numpy as np

import staticgraph as tf

from . import _data


def test_convolutional_network_example(capsys):
    mnist = _data.read_data_sets(one_hot=True, train=800, test=200, ink=0.2, seed=3)
    learning_rate, num_steps, batch_size, display_step = 0.002, 90, 64, 30
    num_input, num_classes, dropout = 784, 10, 0.75

    X = tf.placeholder(tf.float32, [None, num_input])
    Y = tf.placeholder(tf.float32, [None, num_classes])
    keep_prob = tf.placeholder(tf.float32)

    def conv2d(x, W, b, strides=1):
        x = tf.nn.conv2d(x, W, strides=[1, strides, strides, 1], padding='SAME')
        x = tf.nn.bias_add(x, b)
        return tf.nn.relu(x)

    def maxpool2d(x, k=2):
        return tf.nn.max_pool(x, ksize=[1, k, k, 1], strides=[1, k, k, 1], padding='SAME')

    def conv_net(x, weights, biases, dropout):
        x = tf.reshape(x, shape=[-1, 28, 28, 1])
        conv1 = maxpool2d(conv2d(x, weights['wc1'], biases['bc1']), k=2)
        conv2 = maxpool2d(conv2d(conv1, weights['wc2'], biases['bc2']), k=2)
        fc1 = tf.reshape(conv2, [-1, weights['wd1'].get_shape().as_list()[0]])
        fc1 = tf.nn.relu(tf.add(tf.matmul(fc1, weights['wd1']), biases['bd1']))
        fc1 = tf.nn.dropout(fc1, dropout)
        return tf.add(tf.matmul(fc1, weights['out']), biases['out'])

    tf.set_random_seed(0)
    weights = {
        'wc1': tf.Variable(tf.random_normal([5, 5, 1, 6], stddev=0.1)),
        'wc2': tf.Variable(tf.random_normal([5, 5, 6, 12], stddev=0.1)),
        'wd1': tf.Variable(tf.random_normal([7 * 7 * 12, 48], stddev=0.1)),
        'out': tf.Variable(tf.random_normal([48, num_classes], stddev=0.1))}
    biases = {
        'bc1': tf.Variable(tf.random_normal([6], stddev=0.1)),
        'bc2': tf.Variable(tf.random_normal([12], stddev=0.1)),
        'bd1': tf.Variable(tf.random_normal([48], stddev=0.1)),
        'out': tf.Variable(tf.random_normal([num_classes], stddev=0.1))}

    logits = conv_net(X, weights, biases, keep_prob)
    prediction = tf.nn.softmax(logits)
    assert logits.get_shape().as_list() == [None, num_classes]
    loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
    train_op = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(loss_op)
    correct_pred = tf.equal(tf.argmax(prediction, 1), tf.argmax(Y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, num_steps + 1):
            batch_x, batch_y = mnist.train.next_batch(batch_size)
            sess.run(train_op, feed_dict={X: batch_x, Y: batch_y, keep_prob: dropout})
            if step % display_step == 0 or step == 1:
                loss, acc = sess.run([loss_op, accuracy],
                                     feed_dict={X: batch_x, Y: batch_y, keep_prob: 1.0})
                losses.append(loss)
                print("Step " + str(step) + ", Minibatch Loss= " + "{:.4f}".format(loss) +
                      ", Training Accuracy= " + "{:.3f}".format(acc))
        print("Optimization Finished!")
        test_accuracy = sess.run(accuracy, feed_dict={X: mnist.test.images,
                                                      Y: mnist.test.labels, keep_prob: 1.0})
        print("Testing Accuracy:", test_accuracy)

    assert losses[-1] < losses[0] / 5 and test_accuracy > 0.9
    assert capsys.readouterr().out.count("Minibatch Loss") == 4
