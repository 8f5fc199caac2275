from .exporting import export_distribution  # noqa: F401
from .pushing import push  # noqa: F401
from .synchronizing import synchronize  # noqa: F401
from .uploading import upload_tree  # noqa: F401
from .verifying import verify_signatures  # noqa: F401
