"""The RED140 builder: images you downloaded -> TFRecords (``builder.Red140``),
with the folder scan (``manual_scan``) and GM name matching (``names``)."""
