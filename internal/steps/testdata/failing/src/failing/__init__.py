def add(a, b):
    return a + b - 1  # the bug the tests find
