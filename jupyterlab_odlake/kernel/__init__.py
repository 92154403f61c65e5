"""The kernel helper: the ``%odlake`` IPython magic and the Python API, over a lake in this process or the server's."""
