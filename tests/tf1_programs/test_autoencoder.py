"""The classic TF1 autoencoder: sigmoid encoder 784-256-128 and decoder back, mean squared
reconstruction error, RMSProp, mini-batches from `next_batch`, then reconstructions of test
images. The first loss equals numpy's forward pass on the initial weights; the loss falls as
the network learns the images, and test images are reconstructed about as well."""
import numpy as np

import staticgraph as tf

from . import _data


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_autoencoder_example(capsys):
    mnist = _data.read_data_sets(one_hot=True, train=512, test=16)
    learning_rate, num_steps, batch_size, display_step = 0.01, 400, 32, 100
    num_hidden_1, num_hidden_2, num_input = 256, 128, 784

    X = tf.placeholder("float", [None, num_input])
    weights = {
        'encoder_h1': tf.Variable(tf.random_normal([num_input, num_hidden_1])),
        'encoder_h2': tf.Variable(tf.random_normal([num_hidden_1, num_hidden_2])),
        'decoder_h1': tf.Variable(tf.random_normal([num_hidden_2, num_hidden_1])),
        'decoder_h2': tf.Variable(tf.random_normal([num_hidden_1, num_input]))}
    biases = {
        'encoder_b1': tf.Variable(tf.random_normal([num_hidden_1])),
        'encoder_b2': tf.Variable(tf.random_normal([num_hidden_2])),
        'decoder_b1': tf.Variable(tf.random_normal([num_hidden_1])),
        'decoder_b2': tf.Variable(tf.random_normal([num_input]))}

    def encoder(x):
        layer_1 = tf.nn.sigmoid(tf.add(tf.matmul(x, weights['encoder_h1']), biases['encoder_b1']))
        return tf.nn.sigmoid(tf.add(tf.matmul(layer_1, weights['encoder_h2']),
                                    biases['encoder_b2']))

    def decoder(x):
        layer_1 = tf.nn.sigmoid(tf.add(tf.matmul(x, weights['decoder_h1']), biases['decoder_b1']))
        return tf.nn.sigmoid(tf.add(tf.matmul(layer_1, weights['decoder_h2']),
                                    biases['decoder_b2']))

    encoder_op = encoder(X)
    decoder_op = decoder(encoder_op)
    y_pred, y_true = decoder_op, X
    loss = tf.reduce_mean(tf.pow(y_true - y_pred, 2))
    optimizer = tf.train.RMSPropOptimizer(learning_rate).minimize(loss)
    init = tf.global_variables_initializer()

    losses = []
    with tf.Session() as sess:
        sess.run(init)
        names = ['encoder_h1', 'encoder_b1', 'encoder_h2', 'encoder_b2',
                 'decoder_h1', 'decoder_b1', 'decoder_h2', 'decoder_b2']
        initial = sess.run([(weights if n[-2] == 'h' else biases)[n] for n in names])
        for i in range(1, num_steps + 1):
            batch_x, _ = mnist.train.next_batch(batch_size)
            _, l = sess.run([optimizer, loss], feed_dict={X: batch_x})
            losses.append(l)
            if i % display_step == 0 or i == 1:
                print('Step %i: Minibatch Loss: %f' % (i, l))
        n = 4
        canvas_orig, canvas_recon = np.empty((28 * n, 28 * n)), np.empty((28 * n, 28 * n))
        for i in range(n):
            batch_x, _ = mnist.test.next_batch(n)
            g = sess.run(decoder_op, feed_dict={X: batch_x})
            for j in range(n):
                canvas_orig[i * 28:(i + 1) * 28, j * 28:(j + 1) * 28] = batch_x[j].reshape([28, 28])
                canvas_recon[i * 28:(i + 1) * 28, j * 28:(j + 1) * 28] = g[j].reshape([28, 28])

    h = mnist.train.images[:batch_size].astype(np.float64)
    for w, b in zip(initial[::2], initial[1::2]):
        h = _sigmoid(h @ w + b)
    np.testing.assert_allclose(losses[0], ((mnist.train.images[:batch_size] - h) ** 2).mean(),
                               rtol=1e-4)
    assert np.mean(losses[-10:]) < 0.7 * losses[0]
    assert 0 <= canvas_recon.min() and canvas_recon.max() <= 1
    assert ((canvas_recon - canvas_orig) ** 2).mean() < 0.7 * losses[0]  # on unseen images too
    assert capsys.readouterr().out.count("Minibatch Loss") == 1 + num_steps // display_step
