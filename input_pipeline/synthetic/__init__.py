"""The built-in synthetic RED (``builder.Synthetic``): for each GM a small
random-weight generator whose architecture follows its labels (``arch``,
``layers``, ``generator``), simulated loss-function statistics (``losses``)
and real images cut from bundled photographs (``photos``)."""
