"""The jupyter_server extension: configuration (traitlets), thin handlers over core, one route table."""
