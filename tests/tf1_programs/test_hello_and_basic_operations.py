"""The classic TF1 "hello world" and "basic operations" programs: constants, placeholders
of unknown shape fed with scalars, and a matrix product, each printed as TF1 prints it."""
import numpy as np

import staticgraph as tf


def test_hello_world(capsys):
    hello = tf.constant("Hello, TensorFlow!")
    sess = tf.Session()
    print(sess.run(hello))
    assert capsys.readouterr().out == "b'Hello, TensorFlow!'\n"


def test_basic_operations(capsys):
    a, b = tf.constant(2), tf.constant(3)
    with tf.Session() as sess:
        print("a=2, b=3")
        print("Addition with constants: %i" % sess.run(a + b))
        print("Multiplication with constants: %i" % sess.run(a * b))

    a, b = tf.placeholder(tf.int16), tf.placeholder(tf.int16)
    add, mul = tf.add(a, b), tf.multiply(a, b)
    with tf.Session() as sess:
        print("Addition with variables: %i" % sess.run(add, feed_dict={a: 2, b: 3}))
        print("Multiplication with variables: %i" % sess.run(mul, feed_dict={a: 2, b: 3}))
        added = sess.run(add, feed_dict={a: 2, b: 3})

    matrix1, matrix2 = tf.constant([[3., 3.]]), tf.constant([[2.], [2.]])
    product = tf.matmul(matrix1, matrix2)
    with tf.Session() as sess:
        result = sess.run(product)
        print(result)

    assert capsys.readouterr().out.splitlines() == [
        "a=2, b=3", "Addition with constants: 5", "Multiplication with constants: 6",
        "Addition with variables: 5", "Multiplication with variables: 6", "[[12.]]"]
    assert added.dtype == np.int16 and result.dtype == np.float32
